using TailorPO.Core.Abstractions;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.Analytic;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Refiners;

/// <summary>
/// A Table-1 analogue: on a tiny latent-diffusion stand-in, the guided step x^+ raises the step
/// reward of the preferred candidate and the opposite step x^- lowers it for most samples
/// (the paper reports 83-100%).
/// </summary>
public class GuidanceEffectTests(ITestOutputHelper output)
{
    public static TheoryData<string> RewardNames => new() { "brightness", "colorfulness", "saturation", "aesthetic" };

    private static IRewardModel Create(string name) => name switch
    {
        "brightness" => new BrightnessTargetReward(0.65),
        "colorfulness" => new ColorfulnessReward(),
        "saturation" => new SaturationReward(),
        // The fixture's tiny CLIP ViT + LAION head: the gradient flows through bicubic resize and CLIP.
        "aesthetic" => TailorPO.Rewards.Aesthetic.LaionAestheticScorer.FromPretrained(
            TailorPO.TestUtilities.FixtureRoot.Combine("aesthetic"), TailorPO.TestUtilities.FixtureRoot.Combine("aesthetic", "aesthetic_mlp.safetensors")),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(RewardNames))]
    public void Guided_step_raises_and_opposite_step_lowers_the_step_reward_for_at_least_80_percent(string rewardName)
    {
        using var scope = NewDisposeScope();
        const int batch = 10;
        var setup = new GuidanceSetup(Create(rewardName), steps: 10, dtype: ScalarType.Float32, batch: batch, cfg: true, seed: 21);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule(), computeOpposite: true);
        int samples = 0, raised = 0, lowered = 0;
        foreach (var stepIndex in new[] { 0, 2, 4, 6, 8, 9 })
        {
            using var generator = new Generator((ulong)(1000 + stepIndex));
            var xt = setup.Sampler.NoisySample([batch, 4, 4, 4], stepIndex, setup.Condition, generator);
            var step = setup.Sampler.Step(xt, stepIndex, setup.Condition, candidates: 2, generator: generator);
            var ranked = setup.Estimator.ScoreCandidates(setup.Sampler, step.Candidates, stepIndex, setup.Condition);
            var firstWins = ranked.Rewards[0].ge(ranked.Rewards[1]).reshape(batch, 1, 1, 1);
            var preferred = where(firstWins, step.Candidates[0], step.Candidates[1]);

            var report = refiner.Refine(setup.Sampler, preferred, stepIndex, setup.Condition).Report!;

            samples += batch;
            raised += (int)report.ProposalReward.gt(report.PreferredReward).sum().item<long>();
            lowered += (int)report.OppositeReward!.lt(report.PreferredReward).sum().item<long>();
        }

        var raisedRate = (double)raised / samples;
        var loweredRate = (double)lowered / samples;
        (setup.Estimator.Reward as IDisposable)?.Dispose();
        output.WriteLine($"{rewardName}: {samples} samples, x^+ raised r_t for {raisedRate:P1}, x^- lowered it for {loweredRate:P1}");
        Assert.True(samples >= 50);
        Assert.True(raisedRate >= 0.8, $"x^+ raised the step reward for only {raisedRate:P1} of {samples}");
        Assert.True(loweredRate >= 0.8, $"x^- lowered the step reward for only {loweredRate:P1} of {samples}");
    }
}
