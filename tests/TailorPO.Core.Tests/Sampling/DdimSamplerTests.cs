using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Sampling;

public class DdimSamplerTests
{
    private static readonly NoiseSchedule Schedule = NoiseSchedule.StableDiffusionV15();

    private static DiffusionCondition Condition(double scale = 5.0, bool guided = true) => new(
        ["a cat", "a dog"],
        full([2, 3, 8], 0.2f),
        guided ? full([2, 3, 8], -0.1f) : null,
        scale);

    [Fact]
    public void Step_draws_K_candidates_around_one_mean_with_formula_log_probabilities()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions());
        var x = randn([2, 4, 8, 8], generator: new Generator(1));

        var step = sampler.Step(x, stepIndex: 3, Condition(), candidates: 4, generator: new Generator(2));

        Assert.Equal(new long[] { 4, 2, 4, 8, 8 }, step.Candidates.shape);
        Assert.Equal(new long[] { 4, 2 }, step.LogProbabilities.shape);
        Assert.Equal(sampler.Timesteps[3], step.Timestep);
        // Mean and sigma from the schedule's abar, in float64, independently of the library's step math.
        var t = sampler.Timesteps[3];
        double abar = Schedule.AlphasCumprod[(int)t], abarPrev = Schedule.AlphasCumprod[(int)t - 50];
        var sigma = System.Math.Sqrt((1 - abarPrev) / (1 - abar) * (1 - abar / abarPrev));
        var eps = step.NoisePrediction.to_type(ScalarType.Float64);
        var x64 = x.to_type(ScalarType.Float64);
        var x0 = (x64 - System.Math.Sqrt(1 - abar) * eps) / System.Math.Sqrt(abar);
        var mean = System.Math.Sqrt(abarPrev) * x0 + System.Math.Sqrt(1 - abarPrev - sigma * sigma) * eps;
        TensorAssert.Close(mean, step.Mean, 1e-5, 1e-5, "mean");
        TensorAssert.Close(full(2, sigma, ScalarType.Float64), step.Sigma, 1e-7, 1e-6, "sigma");

        for (var k = 0; k < 4; k++)
        {
            var z = (step.Candidates[k].to_type(ScalarType.Float64) - mean) / sigma;
            var expected = -0.5 * z.square().mean([1, 2, 3]) - System.Math.Log(sigma) - 0.5 * System.Math.Log(2 * System.Math.PI);
            TensorAssert.Close(expected, step.LogProbabilities[k], 1e-4, 1e-5, $"log-prob of candidate {k}");
        }
        Assert.True((step.Candidates[0] - step.Candidates[1]).abs().max().item<float>() > 1e-3, "independent noise per candidate");
        Assert.Equal(1, predictor.Calls);
        Assert.False(step.Candidates.requires_grad);
    }

    [Fact]
    public void Passing_a_noise_prediction_skips_the_model_call_and_gives_the_same_step()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions());
        var x = randn([2, 4, 8, 8], generator: new Generator(1));

        var first = sampler.Step(x, 5, Condition(), 2, new Generator(3));
        Assert.Equal(1, predictor.Calls);
        var reused = sampler.Step(x, 5, Condition(), 2, new Generator(3), noisePrediction: first.NoisePrediction);
        Assert.Equal(1, predictor.Calls);

        Assert.Same(first.NoisePrediction, reused.NoisePrediction);
        TensorAssert.Close(first.Candidates, reused.Candidates, 0, 0, "candidates");
        TensorAssert.Close(first.LogProbabilities, reused.LogProbabilities, 0, 0, "log-probs");
    }

    [Fact]
    public void Score_of_a_stored_transition_equals_the_sampling_time_log_probability_and_has_a_gradient()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions());
        var x = randn([2, 4, 8, 8], generator: new Generator(4));
        var step = sampler.Step(x, 10, Condition(), 2, new Generator(5));

        var transition = new SamplerTransition(10, x, step.Candidates[1], step.LogProbabilities[1]);
        var score = sampler.Score(transition, Condition());

        TensorAssert.Close(step.LogProbabilities[1], score.LogProbability, 1e-6, 1e-6, "re-scored log-prob");
        TensorAssert.Close(step.Mean, score.Mean, 1e-6, 1e-6, "re-scored mean");
        Assert.True(score.LogProbability.requires_grad);
        score.LogProbability.sum().backward();
        Assert.NotNull(predictor.Weight.grad);
        Assert.True(predictor.Weight.grad!.abs().item<float>() > 0);
    }

    [Fact]
    public void Guidance_uses_one_batched_call_and_combines_unconditional_and_conditional_predictions()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var x = randn([2, 4, 8, 8], generator: new Generator(6));
        var condition = Condition(scale: 5.0);
        var t = tensor(new long[] { 951, 951 });

        var guided = ClassifierFreeGuidance.Predict(predictor, x, t, condition);
        Assert.Equal(1, predictor.Calls);
        Assert.Equal(4, predictor.BatchSizes.Single());

        var unconditional = predictor.PredictNoise(x, t, condition.NegativeEmbeddings!);
        var conditional = predictor.PredictNoise(x, t, condition.PromptEmbeddings);
        TensorAssert.Close(unconditional + 5.0 * (conditional - unconditional), guided, 1e-6, 1e-6, "CFG");

        using var unguided = new CountingNoisePredictor();
        var plain = ClassifierFreeGuidance.Predict(unguided, x, t, Condition(guided: false));
        Assert.Equal(2, unguided.BatchSizes.Single());
        TensorAssert.Close(conditional, plain, 0, 0, "no guidance = conditional prediction");
    }

    [Fact]
    public void Same_generator_seed_reproduces_the_candidates()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions());
        var x = randn([1, 4, 8, 8], generator: new Generator(1));
        var condition = new DiffusionCondition(["x"], zeros(1, 3, 8));
        var a = sampler.Step(x, 0, condition, 2, new Generator(42));
        var b = sampler.Step(x, 0, condition, 2, new Generator(42));
        TensorAssert.Close(a.Candidates, b.Candidates, 0, 0, "candidates");
    }

    [Fact]
    public void Sampler_exposes_the_configured_timesteps_and_predicted_original()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions { InferenceSteps = 10, Eta = 0.5 });
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 901L - 100 * i), sampler.Timesteps);
        Assert.Equal(0.5, sampler.Eta);
        var x = randn([2, 4, 8, 8]);
        var step = sampler.Step(x, 2, Condition(), 1, new Generator(1));
        TensorAssert.Close(step.PredictedOriginal, sampler.PredictOriginal(x, 2, step.NoisePrediction), 0, 0, "x0_hat");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void Eta_that_gives_no_log_probabilities_is_rejected_at_construction(double eta)
    {
        using var predictor = new CountingNoisePredictor();
        var e = Assert.Throws<ArgumentException>(() => new DdimSampler(predictor, Schedule, new SamplingOptions { Eta = eta }));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("Eta", e.Message);
    }

    [Fact]
    public void Bad_step_arguments_are_rejected_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, Schedule, new SamplingOptions());
        var x = randn([2, 4, 8, 8]);
        Assert.Equal("stepIndex", Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Step(x, 20, Condition())).ParamName);
        Assert.Equal("candidates", Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Step(x, 0, Condition(), 0)).ParamName);
        Assert.Equal("latents", Assert.Throws<ArgumentException>(() => sampler.Step(randn([4, 8, 8]), 0, Condition())).ParamName);
        Assert.Equal("noisePrediction", Assert.Throws<ArgumentException>(() => sampler.Step(x, 0, Condition(), 1, null, randn([2, 4, 8, 4]))).ParamName);
        var wrongPrompts = new DiffusionCondition(["only one"], zeros(2, 3, 8));
        Assert.Equal("condition", Assert.Throws<ArgumentException>(() => sampler.Step(x, 0, wrongPrompts)).ParamName);
        var wrongEmbeddings = new DiffusionCondition(["a", "b"], zeros(3, 3, 8));
        Assert.Equal("condition", Assert.Throws<ArgumentException>(() => sampler.Step(x, 0, wrongEmbeddings)).ParamName);
        Assert.Equal(0, predictor.Calls);
    }
}
