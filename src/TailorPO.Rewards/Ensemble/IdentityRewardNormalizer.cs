using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>No normalisation: the raw reward enters the weighted sum as it is.</summary>
public sealed class IdentityRewardNormalizer : IRewardNormalizer
{
    /// <summary>The shared instance (the normaliser has no state).</summary>
    public static IdentityRewardNormalizer Instance { get; } = new();

    private IdentityRewardNormalizer() { }

    /// <inheritdoc />
    public string Description => "none";

    /// <inheritdoc />
    public Tensor Normalize(Tensor raw) => raw.alias();
}
