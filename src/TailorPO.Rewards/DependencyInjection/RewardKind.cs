namespace TailorPO.Rewards.DependencyInjection;

/// <summary>The rewards <see cref="TailorPORewardsOptions"/> can build.</summary>
public enum RewardKind
{
    /// <summary><see cref="Analytic.ColorfulnessReward"/> (Hasler and Suesstrunk), differentiable.</summary>
    Colorfulness,

    /// <summary><see cref="Analytic.SaturationReward"/> (mean HSV saturation), differentiable.</summary>
    Saturation,

    /// <summary><see cref="Analytic.BrightnessTargetReward"/>, differentiable.</summary>
    BrightnessTarget,

    /// <summary><see cref="Analytic.ContrastTargetReward"/>, differentiable.</summary>
    ContrastTarget,

    /// <summary>A reward of your own, built by <see cref="RewardMemberOptions.Factory"/>.</summary>
    Custom,
}
