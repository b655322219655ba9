using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Sampling;

/// <summary>Plain generation with Core's sampler: eta = 0 (deterministic DDIM) and eta &gt; 0 without log-probabilities.</summary>
public class DdimGenerationTests
{
    private static readonly NoiseSchedule Schedule = NoiseSchedule.StableDiffusionV15();

    private static DiffusionCondition Condition() => new(["a cat", "a dog"], full([2, 3, 8], 0.2f), full([2, 3, 8], -0.1f), 5.0);

    [Fact]
    public void Eta_zero_denoising_follows_the_deterministic_ddim_update_computed_in_float64()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = DdimSampler.ForGeneration(predictor, Schedule, inferenceSteps: 4, eta: 0);
        var x = randn([2, 4, 8, 8], generator: new Generator(1));

        var result = sampler.Denoise(x, Condition());

        // The same loop written out from the schedule's abar in float64: x' = sqrt(abar') x0 + sqrt(1 - abar') eps.
        var expected = x.to_type(ScalarType.Float64);
        for (var i = 0; i < sampler.Timesteps.Count; i++)
        {
            var t = sampler.Timesteps[i];
            var previous = t - 1000 / 4;
            double abar = Schedule.AlphasCumprod[(int)t];
            double abarPrevious = previous >= 0 ? Schedule.AlphasCumprod[(int)previous] : Schedule.FinalAlphaCumprod;
            var eps = ClassifierFreeGuidance.Predict(predictor, expected.to_type(ScalarType.Float32), full(2, t, ScalarType.Int64), Condition())
                .detach().to_type(ScalarType.Float64);
            var x0 = (expected - Math.Sqrt(1 - abar) * eps) / Math.Sqrt(abar);
            expected = Math.Sqrt(abarPrevious) * x0 + Math.Sqrt(1 - abarPrevious) * eps;
        }
        TensorAssert.Close(expected, result, atol: 1e-4, rtol: 1e-4, what: "x_0 after 4 deterministic DDIM steps");
        Assert.False(result.requires_grad);
        Assert.False(sampler.ProvidesLogProbabilities);
    }

    [Fact]
    public void Eta_zero_draws_nothing_from_the_generator()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = DdimSampler.ForGeneration(predictor, Schedule, 3, eta: 0);
        var x = randn([2, 4, 8, 8], generator: new Generator(2));
        var generator = new Generator(7);
        sampler.Denoise(x, Condition(), generator);
        // An untouched generator yields the same next draw as a fresh one with the same seed.
        TensorAssert.Close(randn([4], generator: new Generator(7)), randn([4], generator: generator), atol: 0, what: "next draw");
    }

    [Fact]
    public void With_eta_above_zero_advance_takes_the_same_draw_as_a_one_candidate_step()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var generation = DdimSampler.ForGeneration(predictor, Schedule, 10, eta: 1.0);
        var training = new DdimSampler(predictor, Schedule, new SamplingOptions { InferenceSteps = 10, Eta = 1.0 });
        var x = randn([2, 4, 8, 8], generator: new Generator(3));

        var advanced = generation.Advance(x, 4, Condition(), new Generator(9));
        var stepped = training.Step(x, 4, Condition(), candidates: 1, generator: new Generator(9));

        TensorAssert.Close(stepped.Candidates[0], advanced, atol: 0, what: "x_{t-1}");
        Assert.True(generation.ProvidesLogProbabilities);
    }

    [Fact]
    public void An_eta_zero_sampler_refuses_the_operations_that_report_log_probabilities()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = DdimSampler.ForGeneration(predictor, Schedule, 5, eta: 0);
        var x = randn([2, 4, 8, 8]);

        var step = Assert.Throws<InvalidOperationException>(() => sampler.Step(x, 0, Condition()));
        Assert.Contains("eta = 0", step.Message);
        var transition = new SamplerTransition(0, x, x, zeros(2));
        Assert.Contains("eta = 0", Assert.Throws<InvalidOperationException>(() => sampler.Score(transition, Condition())).Message);
        Assert.Equal(0, predictor.Calls);
    }

    [Fact]
    public void Denoise_reports_every_step_and_stops_between_steps_when_cancelled()
    {
        using var scope = NewDisposeScope();
        using var predictor = new CountingNoisePredictor();
        var sampler = DdimSampler.ForGeneration(predictor, Schedule, 5);
        var x = randn([2, 4, 8, 8]);
        var reported = new List<(int, long)>();
        sampler.Denoise(x, Condition(), stepCompleted: (i, t) => reported.Add((i, t)));
        Assert.Equal(sampler.Timesteps.Select((t, i) => (i, t)), reported);

        using var cancellation = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            sampler.Denoise(x, Condition(), stepCompleted: (i, _) => { if (i == 1) cancellation.Cancel(); }, cancellationToken: cancellation.Token));
        Assert.Equal(5 + 2, predictor.Calls);
        Assert.False(x.IsInvalid);
    }

    [Fact]
    public void Generation_settings_outside_their_range_are_rejected()
    {
        using var predictor = new CountingNoisePredictor();
        Assert.Equal("inferenceSteps", Assert.Throws<ArgumentOutOfRangeException>(() => DdimSampler.ForGeneration(predictor, Schedule, 0)).ParamName);
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => DdimSampler.ForGeneration(predictor, Schedule, 10, -0.1)).ParamName);
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => DdimSampler.ForGeneration(predictor, Schedule, 10, 1.5)).ParamName);
    }
}
