using TailorPO.Core.Errors;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Sampling;

public class DdimStepMathTests
{
    private static readonly NoiseSchedule Schedule = NoiseSchedule.StableDiffusionV15();
    private static readonly DdimStepMath Math20 = new(Schedule, new DdimTimesteps(Schedule.Config, 20));

    [Fact]
    public void Posterior_follows_the_DDIM_formulas_per_batch_element_in_float64()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var x = randn([2, 3, 2, 2], ScalarType.Float64, generator: generator);
        var eps = randn([2, 3, 2, 2], ScalarType.Float64, generator: generator);
        var t = tensor(new long[] { 951, 1 });
        var posterior = Math20.Posterior(x, t, eps, eta: 0.7);

        for (var b = 0; b < 2; b++)
        {
            var timestep = b == 0 ? 951 : 1;
            double abar = Schedule.AlphasCumprod[timestep];
            double abarPrev = timestep - 50 >= 0 ? Schedule.AlphasCumprod[timestep - 50] : Schedule.FinalAlphaCumprod;
            var sigma = 0.7 * System.Math.Sqrt((1 - abarPrev) / (1 - abar)) * System.Math.Sqrt(1 - abar / abarPrev);
            var x0 = (x[b] - System.Math.Sqrt(1 - abar) * eps[b]) / System.Math.Sqrt(abar);
            var mean = System.Math.Sqrt(abarPrev) * x0 + System.Math.Sqrt(1 - abarPrev - sigma * sigma) * eps[b];

            Assert.Equal(sigma, posterior.Sigma[b].item<double>(), 12);
            TensorAssert.Close(x0, posterior.PredictedOriginal[b], 1e-12, 1e-12, $"x0[{b}]");
            TensorAssert.Close(mean, posterior.Mean[b], 1e-12, 1e-12, $"mean[{b}]");
        }
    }

    [Fact]
    public void Log_probability_is_the_element_mean_of_the_Gaussian_log_density()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        var mean = randn([2, 4, 3, 3], ScalarType.Float64, generator: generator);
        var sample = randn([2, 4, 3, 3], ScalarType.Float64, generator: generator);
        var sigma = tensor(new[] { 0.5, 0.02 });
        var logp = DdimStepMath.LogProbability(sample, mean, sigma);

        var m = mean.data<double>().ToArray();
        var s = sample.data<double>().ToArray();
        for (var b = 0; b < 2; b++)
        {
            var sd = sigma[b].item<double>();
            var total = 0.0;
            for (var i = 0; i < 36; i++)
            {
                var d = s[b * 36 + i] - m[b * 36 + i];
                total += -d * d / (2 * sd * sd) - System.Math.Log(sd) - System.Math.Log(System.Math.Sqrt(2 * System.Math.PI));
            }
            Assert.Equal(total / 36, logp[b].item<double>(), 10);
        }
    }

    [Fact]
    public void Log_ratio_equals_the_difference_of_log_probabilities_and_is_zero_for_equal_means()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var mean = randn([2, 4, 3, 3], ScalarType.Float64, generator: generator);
        var reference = mean + 0.05 * randn([2, 4, 3, 3], ScalarType.Float64, generator: generator);
        var sample = randn([3, 2, 4, 3, 3], ScalarType.Float64, generator: generator);
        var sigma = tensor(new[] { 0.4, 0.9 });

        var h = DdimStepMath.LogRatio(sample, mean, reference, sigma);
        var expected = DdimStepMath.LogProbability(sample, mean, sigma) - DdimStepMath.LogProbability(sample, reference, sigma);
        TensorAssert.Close(expected, h, 1e-12, 1e-10, "log-ratio");
        Assert.Equal(new long[] { 3, 2 }, h.shape);
        Assert.True(DdimStepMath.LogRatio(sample, mean, mean, sigma).eq(0).all().item<bool>());
    }

    [Fact]
    public void Log_probability_gradient_with_respect_to_the_mean_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var mean = randn([2, 1, 2, 2], ScalarType.Float64, generator: generator).requires_grad_(true);
        var sample = randn([2, 1, 2, 2], ScalarType.Float64, generator: generator);
        var sigma = tensor(new[] { 0.3, 0.8 });
        var weights = tensor(new[] { 1.0, -2.0 });

        var loss = (DdimStepMath.LogProbability(sample, mean, sigma) * weights).sum();
        loss.backward();
        var autograd = mean.grad!.flatten().data<double>().ToArray();
        var numeric = FiniteDifference.Gradient(m =>
        {
            using var inner = NewDisposeScope();
            return (DdimStepMath.LogProbability(sample, m, sigma) * weights).sum().item<double>();
        }, mean);
        FiniteDifference.AssertClose(numeric, autograd, what: "d logp / d mean");
    }

    [Fact]
    public void Candidates_drawn_from_one_posterior_share_its_mean_with_independent_noise()
    {
        using var scope = NewDisposeScope();
        var x = randn([2, 4, 8, 8], generator: new Generator(1));
        var eps = randn([2, 4, 8, 8], generator: new Generator(2));
        var posterior = Math20.Posterior(x, tensor(501L), eps, eta: 1.0);
        var candidates = DdimStepMath.Draw(posterior, 3, new Generator(9));
        Assert.Equal(new long[] { 3, 2, 4, 8, 8 }, candidates.shape);

        // The same generator state drawn as K x [B, ...] gives the same noise.
        var z = randn([3, 2, 4, 8, 8], generator: new Generator(9));
        var expected = posterior.Mean.unsqueeze(0) + posterior.Sigma.reshape(1, 2, 1, 1, 1) * z;
        TensorAssert.Close(expected, candidates, 1e-6, 1e-6, "candidates");
        Assert.True((candidates[0] - candidates[1]).abs().max().item<float>() > 1e-3, "candidates must differ");
    }

    [Fact]
    public void Eta_zero_gives_zero_sigma_and_eta_outside_zero_one_is_rejected()
    {
        using var scope = NewDisposeScope();
        var sigma = Math20.Sigma(tensor(new long[] { 951, 1 }), eta: 0);
        Assert.True(sigma.eq(0).all().item<bool>());
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => Math20.Sigma(tensor(951L), 1.5)).ParamName);
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => Math20.Sigma(tensor(951L), -0.1)).ParamName);
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => Math20.Sigma(tensor(951L), double.NaN)).ParamName);
    }

    [Fact]
    public void Clip_sample_clamps_the_predicted_original()
    {
        using var scope = NewDisposeScope();
        var config = SchedulerConfig.StableDiffusionV15 with { ClipSample = true, ClipSampleRange = 1.0 };
        var schedule = new NoiseSchedule(config);
        var math = new DdimStepMath(schedule, new DdimTimesteps(config, 20));
        var x = full([1, 1, 2, 2], 10.0f);
        var x0 = math.PredictOriginal(x, tensor(1L), zeros_like(x));
        Assert.True(x0.eq(1.0f).all().item<bool>());
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        var x = randn([2, 4, 8, 8]);
        var eps = randn([2, 4, 8, 8]);
        Assert.Equal("noisePrediction", Assert.Throws<ArgumentException>(() => Math20.Posterior(x, tensor(1L), randn([2, 4, 8, 7]), 1)).ParamName);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => Math20.Posterior(x.to_type(ScalarType.Int64), tensor(1L), eps, 1)).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => Math20.Posterior(x, tensor(new[] { 1.0f, 2.0f }), eps, 1)).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => Math20.Posterior(x, tensor(new long[] { 1, 2, 3 }), eps, 1)).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentOutOfRangeException>(() => Math20.Posterior(x, tensor(new long[] { 1, 1000 }), eps, 1)).ParamName);

        var posterior = Math20.Posterior(x, tensor(501L), eps, 1);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => DdimStepMath.LogProbability(randn([2, 4, 8]), posterior.Mean, posterior.Sigma)).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentException>(() => DdimStepMath.LogProbability(x, posterior.Mean, posterior.Sigma[0])).ParamName);
        Assert.Equal("referenceMean", Assert.Throws<ArgumentException>(() => DdimStepMath.LogRatio(x, posterior.Mean, randn([2, 4, 8, 4]), posterior.Sigma)).ParamName);
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => DdimStepMath.FromNoise(posterior, randn([2, 4, 8, 4]))).ParamName);
        Assert.Equal("candidates", Assert.Throws<ArgumentOutOfRangeException>(() => DdimStepMath.Draw(posterior, 0)).ParamName);

        var withNaN = x.clone();
        withNaN[0, 0, 0, 0] = tensor(float.NaN);
        var e = Assert.Throws<NonFiniteValueException>(() => DdimStepMath.LogProbability(withNaN, posterior.Mean, posterior.Sigma));
        Assert.Contains("sample", e.Message);
    }
}
