using TailorPO.Core.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Guidance.Options;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.Options;
using TailorPO.TestUtilities.Doubles;

namespace TailorPO.Guidance.Tests.DependencyInjection;

public class GuidanceRegistrationTests
{
    private static ServiceProvider Build(Action<TailorPOGuidanceOptions>? guidance, RewardKind kind = RewardKind.Colorfulness)
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o =>
        {
            o.Add(kind, configure: m => m.Factory = _ => new BrightPixelFractionReward());
            o.UsePixelSpaceDecoder = true;
        });
        services.AddTailorPOGuidance(guidance);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Defaults_resolve_the_paper_configuration()
    {
        using var provider = Build(null);
        provider.GetRequiredService<IStartupValidator>().Validate();
        var refiner = Assert.IsType<RewardGradientRefiner>(provider.GetRequiredService<IPreferredSampleRefiner>());
        Assert.Equal(0.5, refiner.Delta);
        Assert.True(refiner.RequireImprovement);
        Assert.False(refiner.ComputeOpposite);
        var schedule = Assert.IsType<CosineGuidanceSchedule>(refiner.Schedule);
        Assert.Equal((0.1, 0.2), (schedule.Minimum, schedule.Maximum));
    }

    [Fact]
    public void Options_choose_the_schedule_and_disabling_gives_the_no_op_refiner()
    {
        using (var provider = Build(o => { o.Schedule = GuidanceScheduleKind.Constant; o.ConstantEta = 0.3; o.Delta = 0.25; o.ComputeOpposite = true; }))
        {
            var refiner = Assert.IsType<RewardGradientRefiner>(provider.GetRequiredService<IPreferredSampleRefiner>());
            Assert.Equal(0.3, Assert.IsType<ConstantGuidanceSchedule>(refiner.Schedule).Eta);
            Assert.Equal(0.25, refiner.Delta);
            Assert.True(refiner.ComputeOpposite);
        }
        using (var provider = Build(o => o.Enabled = false, RewardKind.Custom))
            Assert.Same(NoOpRefiner.Instance, provider.GetRequiredService<IPreferredSampleRefiner>());
    }

    [Fact]
    public void Guidance_over_a_non_differentiable_reward_fails_on_resolution()
    {
        using var provider = Build(null, RewardKind.Custom);
        Assert.Throws<NonDifferentiableRewardException>(() => provider.GetRequiredService<IPreferredSampleRefiner>());
    }

    [Fact]
    public void Invalid_options_fail_at_start_listing_every_problem()
    {
        using var provider = Build(o => { o.Delta = 0; o.EtaMin = 0.3; o.EtaMax = 0.2; o.ConstantEta = double.NaN; });
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains("Delta"));
        Assert.Contains(error.Failures, f => f.Contains("EtaMax (0.2) is below EtaMin (0.3)"));
        Assert.Contains(error.Failures, f => f.Contains("ConstantEta"));

        using var negative = Build(o => o.EtaMin = -0.1);
        Assert.Throws<OptionsValidationException>(() => negative.GetRequiredService<IStartupValidator>().Validate());
    }

    [Fact]
    public void Guidance_without_a_step_reward_estimator_gets_a_clear_error()
    {
        var services = new ServiceCollection();
        services.AddTailorPOGuidance();
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IPreferredSampleRefiner>());
        Assert.Contains("AddTailorPORewards", error.Message);
    }
}
