using System.Numerics;
using TailorPO.Core.Schedules;
using TailorPO.TestUtilities;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Schedules;

public class NoiseScheduleTests(ITestOutputHelper output)
{
    private static SchedulerConfig FixtureConfig() => SchedulerConfig.FromFile(FixtureRoot.Combine("ddim", "scheduler_config.json"));

    [Fact]
    public void Betas_alphas_cumprod_and_final_alpha_match_diffusers_fixture()
    {
        using var cases = FixtureCases.Load("ddim", "cases.safetensors");
        var schedule = new NoiseSchedule(FixtureConfig());

        using var betas = tensor(schedule.Betas.ToArray());
        using var alphas = tensor(schedule.AlphasCumprod.ToArray());
        using var final = tensor(schedule.FinalAlphaCumprod);
        output.WriteLine($"betas max |diff| {TensorAssert.MaxAbsDifference(cases["betas"], betas):E3}, " +
                         $"alphas_cumprod {TensorAssert.MaxAbsDifference(cases["alphas_cumprod"], alphas):E3}");
        TensorAssert.Close(cases["betas"], betas, atol: 0, rtol: 3e-7, what: "betas"); // 0 against the torch 1.13 reference; other libtorch builds differ by <= 2 ulp
        TensorAssert.Close(cases["alphas_cumprod"], alphas, atol: 0, rtol: 3e-7, what: "alphas_cumprod");
        TensorAssert.Close(cases["final_alpha_cumprod"], final, atol: 1e-9, rtol: 1e-6, what: "final_alpha_cumprod");
    }

    [Fact]
    public void Every_timesteps_tensor_in_the_fixture_is_reproduced_exactly()
    {
        using var cases = FixtureCases.Load("ddim", "cases.safetensors");
        var config = FixtureConfig();
        var names = cases.Names.Where(n => n.StartsWith("timesteps_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(names);
        foreach (var name in names)
        {
            var steps = int.Parse(name["timesteps_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            var expected = cases[name].data<long>().ToArray();
            Assert.Equal(expected, new DdimTimesteps(config, steps).Values);
        }
    }

    [Fact]
    public void SD15_schedule_with_20_steps_runs_951_down_to_1_as_the_paper_states()
    {
        var steps = new DdimTimesteps(SchedulerConfig.StableDiffusionV15, 20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 951L - 50 * i), steps.Values);
        Assert.Equal(50, steps.StepRatio);
        Assert.Equal(-49, steps.PreviousTimestep(1));
        var schedule = NoiseSchedule.StableDiffusionV15();
        Assert.Equal(schedule.AlphasCumprod[0], schedule.PreviousAlphaCumprod(-49));
    }

    [Fact]
    public void Linear_betas_follow_the_closed_form_linspace()
    {
        var config = new SchedulerConfig { BetaSchedule = BetaSchedule.Linear, BetaStart = 1e-4, BetaEnd = 2e-2, NumTrainTimesteps = 1000 };
        var schedule = new NoiseSchedule(config);
        for (var i = 0; i < 1000; i++)
        {
            var expected = 1e-4 + i * (2e-2 - 1e-4) / 999;
            Assert.True(Math.Abs(schedule.Betas[i] - expected) <= 3e-7 * expected, $"beta[{i}] = {schedule.Betas[i]}, expected {expected}");
        }
        Assert.Equal(1.0f, schedule.FinalAlphaCumprod);
    }

    [Fact]
    public void Scaled_linear_betas_are_the_squares_of_a_linspace_of_square_roots()
    {
        var schedule = NoiseSchedule.StableDiffusionV15();
        var (a, b) = (Math.Sqrt(0.00085), Math.Sqrt(0.012));
        for (var i = 0; i < 1000; i++)
        {
            var root = a + i * (b - a) / 999;
            Assert.True(Math.Abs(schedule.Betas[i] - root * root) <= 1e-8, $"beta[{i}]");
        }
    }

    [Fact]
    public void Cosine_schedule_telescopes_to_the_alpha_bar_function_until_the_cap()
    {
        // prod_{s<=t} (1 - beta_s) = f((t+1)/N) / f(0) for f(u) = cos^2(((u + 0.008) / 1.008) pi / 2), wherever beta < 0.999.
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        var schedule = new NoiseSchedule(new SchedulerConfig { BetaSchedule = BetaSchedule.SquaredCosCapV2, NumTrainTimesteps = 1000 });
        for (var t = 0; t < 990; t += 7)
        {
            var expected = F((t + 1) / 1000.0) / F(0);
            Assert.True(Math.Abs(schedule.AlphasCumprod[t] - expected) <= 1e-5 * Math.Max(1e-3, expected) + 1e-7,
                $"abar[{t}] = {schedule.AlphasCumprod[t]}, expected {expected}");
        }
        Assert.Equal(0.999f, schedule.Betas[^1]);
    }

    [Fact]
    public void Trained_betas_replace_the_schedule()
    {
        var betas = Enumerable.Range(1, 10).Select(i => i / 100.0).ToArray();
        var schedule = new NoiseSchedule(new SchedulerConfig { NumTrainTimesteps = 10, TrainedBetas = betas });
        Assert.Equal(betas.Select(b => (float)b), schedule.Betas);
        var product = 1.0;
        for (var t = 0; t < 10; t++)
        {
            product *= 1 - betas[t];
            Assert.Equal(product, schedule.AlphasCumprod[t], 6);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(20)]
    [InlineData(50)]
    [InlineData(7)]
    public void Trailing_spacing_matches_exact_rational_rounding(int steps)
    {
        const int n = 1000;
        var layout = new DdimTimesteps(new SchedulerConfig { TimestepSpacing = TimestepSpacing.Trailing, StepsOffset = 1 }, steps);
        // value_k = round_half_even(N - k N / n) - 1, computed exactly as (N n - k N) / n.
        var expected = Enumerable.Range(0, steps).Select(k => RoundHalfEven((BigInteger)n * steps - (BigInteger)k * n, steps) - 1).ToArray();
        Assert.Equal(expected, layout.Values);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(20)]
    [InlineData(50)]
    public void Linspace_spacing_matches_exact_rational_rounding(int steps)
    {
        const int n = 1000;
        var layout = new DdimTimesteps(new SchedulerConfig { TimestepSpacing = TimestepSpacing.Linspace, StepsOffset = 1 }, steps);
        var expected = Enumerable.Range(0, steps)
            .Select(k => steps == 1 ? 0 : RoundHalfEven((BigInteger)k * (n - 1), steps - 1))
            .Reverse().ToArray();
        Assert.Equal(expected, layout.Values);
    }

    [Fact]
    public void Leading_spacing_adds_steps_offset_and_the_spacing_override_wins()
    {
        var config = new SchedulerConfig { StepsOffset = 0, TimestepSpacing = TimestepSpacing.Trailing };
        var leading = new DdimTimesteps(config, 10, TimestepSpacing.Leading);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 900L - 100 * i), leading.Values);
        Assert.Equal(TimestepSpacing.Leading, leading.Spacing);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void Step_counts_outside_one_to_N_are_rejected_naming_the_argument(int steps)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DdimTimesteps(SchedulerConfig.StableDiffusionV15, steps));
        Assert.Equal("inferenceSteps", e.ParamName);
    }

    [Fact]
    public void Leading_layout_that_leaves_the_training_range_is_rejected()
    {
        // 1000 steps with steps_offset 1 would end at timestep 1000.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DdimTimesteps(SchedulerConfig.StableDiffusionV15, 1000));
        Assert.Contains("1000", e.Message);
    }

    [Fact]
    public void Timestep_lookups_outside_the_schedule_are_rejected()
    {
        var schedule = NoiseSchedule.StableDiffusionV15();
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.AlphaCumprod(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.AlphaCumprod(-1));
        var steps = new DdimTimesteps(SchedulerConfig.StableDiffusionV15, 20);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => steps[20]);
        Assert.Equal("stepIndex", e.ParamName);
    }

    private static long RoundHalfEven(BigInteger numerator, BigInteger denominator)
    {
        var quotient = BigInteger.DivRem(numerator, denominator, out var remainder);
        var twice = 2 * remainder;
        if (twice > denominator || (twice == denominator && !quotient.IsEven)) quotient += 1;
        return (long)quotient;
    }
}
