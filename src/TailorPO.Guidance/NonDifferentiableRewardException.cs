using TailorPO.Core.Errors;
using TailorPO.Guidance.Refiners;

namespace TailorPO.Guidance;

/// <summary>
/// Reward-gradient guidance was asked of a reward that is not differentiable (e.g. JPEG
/// compressibility). Use plain TailorPO (<see cref="NoOpRefiner"/>) or a differentiable reward.
/// </summary>
public sealed class NonDifferentiableRewardException : TailorPOException
{
    /// <summary>Creates the exception for the named reward.</summary>
    public NonDifferentiableRewardException(string rewardName)
        : base($"Reward '{rewardName}' is not differentiable (IsDifferentiable = false), so TailorPO-G's gradient guidance cannot use it. " +
               "Use plain TailorPO (NoOpRefiner, TailorPOGuidanceOptions.Enabled = false) or a differentiable reward (aesthetic, CLIP score, analytic rewards).")
    {
        RewardName = rewardName;
    }

    /// <summary>The reward's name.</summary>
    public string RewardName { get; }
}
