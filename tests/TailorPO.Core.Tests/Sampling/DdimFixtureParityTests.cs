using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Sampling;

/// <summary>
/// Parity with diffusers' DDIMScheduler.step and ddpo-pytorch's ddim_step_with_logprob on every case of
/// ddim/cases.safetensors (cases, step counts, etas and per-element timesteps are read from the file).
/// </summary>
public class DdimFixtureParityTests(ITestOutputHelper output)
{
    private const double Atol = 1e-5;
    private const double Rtol = 1e-5;

    [Fact]
    public void Every_fixture_case_matches_x0_sigma_mean_prev_sample_and_log_probs()
    {
        using var cases = FixtureCases.Load("ddim", "cases.safetensors");
        var schedule = new NoiseSchedule(SchedulerConfig.FromFile(FixtureRoot.Combine("ddim", "scheduler_config.json")));
        var names = cases.CaseNames();
        Assert.NotEmpty(names);
        var worst = new Dictionary<string, double>();
        var stochastic = 0;

        foreach (var name in names)
        {
            using var scope = NewDisposeScope();
            Tensor Field(string field) => cases.Get(name, field);
            var steps = (int)Field("num_inference_steps").item<long>();
            var eta = Field("eta").to_type(ScalarType.Float64).item<double>();
            var math = new DdimStepMath(schedule, new DdimTimesteps(schedule.Config, steps));
            var posterior = math.Posterior(Field("sample"), Field("timestep"), Field("model_output"), eta);

            Assert.Equal(Field("prev_timestep").data<long>().ToArray(), posterior.PreviousTimesteps.data<long>().ToArray());
            Check(name, "alpha_prod_t", Field("alpha_prod_t"), posterior.AlphaProduct, worst);
            Check(name, "alpha_prod_t_prev", Field("alpha_prod_t_prev"), posterior.PreviousAlphaProduct, worst);
            Check(name, "pred_original_sample", Field("expected_pred_original_sample"), posterior.PredictedOriginal, worst);
            Check(name, "std_dev_t", Field("expected_std_dev_t"), posterior.Sigma, worst);
            Check(name, "prev_sample_mean", Field("expected_prev_sample_mean"), posterior.Mean, worst);
            Check(name, "prev_sample", Field("expected_prev_sample"), DdimStepMath.FromNoise(posterior, Field("noise")), worst);
            Check(name, "PredictOriginal", Field("expected_pred_original_sample"),
                math.PredictOriginal(Field("sample"), Field("timestep"), Field("model_output")), worst);
            Check(name, "Sigma", Field("expected_std_dev_t"), math.Sigma(Field("timestep"), eta), worst);

            if (eta > 0)
            {
                stochastic++;
                Check(name, "log_prob_of_prev_sample", Field("expected_log_prob_of_prev_sample"),
                    DdimStepMath.LogProbability(Field("expected_prev_sample"), posterior.Mean, posterior.Sigma), worst);
                Check(name, "log_prob_of_given_prev_sample", Field("expected_log_prob_of_given_prev_sample"),
                    DdimStepMath.LogProbability(Field("given_prev_sample"), posterior.Mean, posterior.Sigma), worst);
            }
            else
            {
                // eta = 0: sigma is 0, the reference's log-prob is NaN, and our API refuses to produce one.
                Assert.True(posterior.Sigma.eq(0).all().item<bool>(), $"{name}: sigma must be 0 at eta = 0");
                Assert.True(Field("expected_log_prob_of_given_prev_sample").isnan().all().item<bool>(), $"{name}: the reference stores NaN");
                var e = Assert.Throws<ArgumentException>(() =>
                    DdimStepMath.LogProbability(Field("given_prev_sample"), posterior.Mean, posterior.Sigma));
                Assert.Equal("sigma", e.ParamName);
                Assert.Contains("eta", e.Message);
            }
        }

        foreach (var (field, error) in worst.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            output.WriteLine($"{field}: max |diff| {error:E3}");
        output.WriteLine($"{names.Count} cases, {stochastic} with eta > 0");
    }

    private static void Check(string caseName, string field, Tensor expected, Tensor actual, Dictionary<string, double> worst)
    {
        TensorAssert.Close(expected, actual, Atol, Rtol, $"{caseName}.{field}");
        var error = TensorAssert.MaxAbsDifference(expected, actual);
        worst[field] = Math.Max(worst.GetValueOrDefault(field), error);
    }
}
