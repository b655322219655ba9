using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>The result of <see cref="RewardEnsemble.ScoreWithBreakdown"/>.</summary>
/// <param name="Total">The ensemble reward, shape [B], differentiable like <see cref="RewardEnsemble.Score"/>.</param>
/// <param name="Breakdown">Each member's raw and normalised values.</param>
public sealed record RewardEnsembleScore(Tensor Total, RewardEnsembleBreakdown Breakdown);
