using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Jpeg;
using TailorPO.Rewards.StepRewards;
using TailorPO.Rewards.Tests.Aesthetic;
using TailorPO.Rewards.Tests.Analytic;
using TailorPO.Rewards.Tests.Clip;
using TailorPO.TestUtilities;
using TailorPO.TestUtilities.Doubles;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Lifetimes;

/// <summary>
/// Every reward and the step-reward estimator free their temporaries inside the call: called in a loop
/// with NO dispose scope around it, disposing only the returned rewards, the thread's live tensor
/// count does not move. A temporary that escaped a call would stay alive and be counted.
/// </summary>
public sealed class RewardLifetimeTests
{
    public static TheoryData<string> Rewards =>
        ["colorfulness", "saturation", "brightness", "contrast", "ensemble", "jpeg-compressibility", "jpeg-incompressibility"];

    [Theory]
    [MemberData(nameof(Rewards))]
    public void Two_hundred_scores_leave_the_live_tensor_count_unchanged(string kind)
    {
        IRewardModel reward = kind switch
        {
            "colorfulness" => new ColorfulnessReward(),
            "saturation" => new SaturationReward(),
            "brightness" => new BrightnessTargetReward(),
            "contrast" => new ContrastTargetReward(),
            "ensemble" => new RewardEnsemble([
                new RewardEnsembleMember(new ColorfulnessReward(), 1.0, new RunningRewardNormalizer()),
                new RewardEnsembleMember(new JpegCompressibilityReward(), 0.5, new FixedRewardNormalizer(-1, 0.5)),
                new RewardEnsembleMember(new SaturationReward(), 0.0)]),
            "jpeg-compressibility" => new JpegCompressibilityReward(),
            _ => new JpegIncompressibilityReward(),
        };
        using var images = TestImages.Random(seed: 2, b: 2, h: 16, w: 16, dtype: ScalarType.Float32);
        LiveTensors.AssertUnchanged(200, _ => reward.Score(images, TestImages.Prompts(2)).Dispose());
    }

    [Fact]
    public void Model_based_rewards_leave_the_live_tensor_count_unchanged()
    {
        using var folder = new ClipModelFolder(logitScale: 2.0);
        using var clipScore = ClipScoreReward.FromPretrained(folder.Path, ClipTokenizer.FromFolder(folder.TokenizerPath));
        using var aesthetic = LaionAestheticScorer.FromPretrained(AestheticFixture.Folder, AestheticFixture.MlpPath);
        using var images = TestImages.Random(seed: 3, b: 2, h: 40, w: 36, dtype: ScalarType.Float32);
        LiveTensors.AssertUnchanged(20, _ => clipScore.Score(images, ["a cat", "a red car"]).Dispose());
        LiveTensors.AssertUnchanged(20, _ => aesthetic.Score(images, ["a cat", "a red car"]).Dispose());
    }

    [Fact]
    public void Two_hundred_candidate_estimates_leave_the_live_tensor_count_unchanged()
    {
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new ColorfulnessReward());
        using var generator = new Generator(5);
        using var candidates = randn([3, 2, 4, 3, 3], dtype: ScalarType.Float64, generator: generator);
        using var differentiable = candidates.detach().requires_grad_(true);
        var prompts = TestImages.Prompts(2);
        LiveTensors.AssertUnchanged(200, _ => estimator.EstimateCandidates(candidates, prompts).Dispose());
        LiveTensors.AssertUnchanged(200, _ => estimator.EstimateCandidates(differentiable, prompts).Dispose());
    }
}
