namespace TailorPO.Rewards.Options;

/// <summary>How an ensemble member's reward is normalised before weighting.</summary>
public enum RewardNormalizationKind
{
    /// <summary>No normalisation (<see cref="Ensemble.IdentityRewardNormalizer"/>).</summary>
    None,

    /// <summary>(r - mean) / std with a known mean and std (<see cref="Ensemble.FixedRewardNormalizer"/>).</summary>
    Fixed,

    /// <summary>(r - mean) / (std + eps) with running statistics (<see cref="Ensemble.RunningRewardNormalizer"/>).</summary>
    Running,
}
