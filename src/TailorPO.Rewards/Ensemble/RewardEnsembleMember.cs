using TailorPO.Core.Abstractions;

namespace TailorPO.Rewards.Ensemble;

/// <summary>One reward of a <see cref="RewardEnsemble"/>, its weight and its normalisation.</summary>
public sealed class RewardEnsembleMember
{
    /// <summary>Creates a member.</summary>
    /// <param name="reward">The reward model.</param>
    /// <param name="weight">Its weight in the sum; finite (0 keeps it in the breakdown without affecting the total).</param>
    /// <param name="normalizer">Its normalisation; null means none (<see cref="IdentityRewardNormalizer"/>).</param>
    public RewardEnsembleMember(IRewardModel reward, double weight = 1.0, IRewardNormalizer? normalizer = null)
    {
        ArgumentNullException.ThrowIfNull(reward);
        if (!double.IsFinite(weight))
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"The weight of ensemble member '{reward.Name}' must be finite.");
        Reward = reward;
        Weight = weight;
        Normalizer = normalizer ?? IdentityRewardNormalizer.Instance;
    }

    /// <summary>The reward model.</summary>
    public IRewardModel Reward { get; }

    /// <summary>The weight of the normalised reward in the sum.</summary>
    public double Weight { get; }

    /// <summary>The normalisation applied before weighting.</summary>
    public IRewardNormalizer Normalizer { get; }
}
