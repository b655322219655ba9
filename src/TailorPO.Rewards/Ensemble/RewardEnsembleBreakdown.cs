namespace TailorPO.Rewards.Ensemble;

/// <summary>Each member's contribution to one ensemble evaluation (detached copies, for logs and metrics).</summary>
/// <param name="Members">One entry per member, in the ensemble's order.</param>
/// <param name="Total">The ensemble reward per image: sum of weight * normalised.</param>
public sealed record RewardEnsembleBreakdown(IReadOnlyList<RewardMemberBreakdown> Members, IReadOnlyList<double> Total);

/// <summary>One member's values in one ensemble evaluation.</summary>
/// <param name="Name">The member reward's name.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="Raw">The raw reward per image.</param>
/// <param name="Normalized">The normalised reward per image (what the weight multiplies).</param>
public sealed record RewardMemberBreakdown(string Name, double Weight, IReadOnlyList<double> Raw, IReadOnlyList<double> Normalized);
