using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Jpeg;

namespace TailorPO.Shapes.Evaluation;

/// <summary>A score the grade reports beside accuracy: the training proxy, or an off-target reward that should not move.</summary>
/// <param name="Name">Its name in tables.</param>
/// <param name="Reward">The scorer (images in [0, 1]).</param>
public sealed record GradeMonitor(string Name, IRewardModel Reward)
{
    /// <summary>The off-target monitors every grade carries: JPEG size (kB) and colourfulness.</summary>
    public static IReadOnlyList<GradeMonitor> OffTarget() =>
        [new("JPEG size (kB)", new JpegIncompressibilityReward()), new("colourfulness", new ColorfulnessReward())];
}
