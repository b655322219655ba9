using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Schedules;

public class AddNoiseTests
{
    private static SchedulerConfig FixtureConfig() => SchedulerConfig.FromFile(FixtureRoot.Combine("ddim", "scheduler_config.json"));

    [Fact]
    public void Each_batch_element_is_noised_at_its_own_timestep_by_the_closed_form()
    {
        using var scope = NewDisposeScope();
        var config = FixtureConfig();
        var schedule = new NoiseSchedule(config);
        var x0 = randn([3, 4, 5, 6], generator: new Generator(11));
        var noise = randn([3, 4, 5, 6], generator: new Generator(12));
        long[] steps = [0, config.NumTrainTimesteps / 2 - 1, config.NumTrainTimesteps - 1]; // first, middle and last

        var noisy = schedule.AddNoise(x0, noise, tensor(steps));

        for (var i = 0; i < steps.Length; i++)
        {
            // q(x_t | x_0) in float64 from the schedule's abar (checked against diffusers elsewhere).
            double abar = schedule.AlphasCumprod[(int)steps[i]];
            var expected = Math.Sqrt(abar) * x0[i].to_type(ScalarType.Float64) + Math.Sqrt(1 - abar) * noise[i].to_type(ScalarType.Float64);
            TensorAssert.Close(expected, noisy[i], atol: 1e-6, rtol: 1e-6, what: $"x_t of element {i} (t = {steps[i]})");
        }
        Assert.Equal(ScalarType.Float32, noisy.dtype);
        Assert.Equal(x0.shape, noisy.shape);
    }

    [Fact]
    public void The_ddim_predicted_original_inverts_the_forward_process_given_the_true_noise()
    {
        using var scope = NewDisposeScope();
        // No x0 clipping here, so x0_hat is the exact algebraic inverse of q(x_t | x_0).
        var config = FixtureConfig() with { ClipSample = false };
        var schedule = new NoiseSchedule(config);
        var timesteps = new DdimTimesteps(config, 20);
        var math = new DdimStepMath(schedule, timesteps);
        var x0 = randn([4, 3, 8, 8], ScalarType.Float64, generator: new Generator(21));
        var noise = randn([4, 3, 8, 8], ScalarType.Float64, generator: new Generator(22));
        // Four of the config's own inference timesteps, from the last (least noise) to the first.
        var t = tensor(new[] { timesteps.Values[^1], timesteps.Values[14], timesteps.Values[7], timesteps.Values[0] });

        var noisy = schedule.AddNoise(x0, noise, t);
        var recovered = math.PredictOriginal(noisy, t, noise);

        Assert.Equal(ScalarType.Float64, noisy.dtype);
        TensorAssert.Close(x0, recovered, atol: 1e-5, rtol: 1e-5, what: "x0_hat(AddNoise(x0, eps, t), eps)");
    }

    [Fact]
    public void A_scalar_timestep_applies_to_the_whole_batch()
    {
        using var scope = NewDisposeScope();
        var schedule = NoiseSchedule.StableDiffusionV15();
        var x0 = randn([2, 3, 4, 4], generator: new Generator(31));
        var noise = randn([2, 3, 4, 4], generator: new Generator(32));
        var scalar = schedule.AddNoise(x0, noise, tensor(300L));
        var perElement = schedule.AddNoise(x0, noise, tensor(new long[] { 300, 300 }));
        TensorAssert.Close(perElement, scalar, atol: 0, what: "0-d timestep");
    }

    [Fact]
    public void Bad_arguments_are_rejected_naming_the_argument()
    {
        using var scope = NewDisposeScope();
        var schedule = NoiseSchedule.StableDiffusionV15();
        var x0 = randn([2, 3, 4, 4]);
        var noise = randn([2, 3, 4, 4]);
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => schedule.AddNoise(x0, randn([2, 3, 4, 5]), tensor(new long[] { 1, 2 }))).ParamName);
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => schedule.AddNoise(x0, noise.to_type(ScalarType.Float64), tensor(new long[] { 1, 2 }))).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => schedule.AddNoise(x0, noise, tensor(new long[] { 1, 2, 3 }))).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => schedule.AddNoise(x0, noise, tensor(new float[] { 1, 2 }))).ParamName);
        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => schedule.AddNoise(x0, noise, tensor(new long[] { 5, 1000 })));
        Assert.Equal("timesteps", outOfRange.ParamName);
        Assert.Contains("1000", outOfRange.Message);
        Assert.Equal("originalSamples", Assert.Throws<ArgumentException>(() => schedule.AddNoise(zeros([2, 3], ScalarType.Int64), zeros([2, 3], ScalarType.Int64), tensor(new long[] { 1, 2 }))).ParamName);
    }
}
