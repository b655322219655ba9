namespace TailorPO.Rewards.Options;

/// <summary>
/// Which <see cref="RewardKind"/>s TailorPO.Rewards builds itself, and which registered
/// <see cref="IRewardKindFactory"/> builds each of the others.
/// </summary>
internal sealed class RewardKindFactories
{
    /// <summary>The package whose <see cref="IRewardKindFactory"/> builds the learned kinds.</summary>
    internal const string LearnedRewardsPackage = "TailorPO.RewardModels";

    private readonly Dictionary<RewardKind, IRewardKindFactory> _byKind = [];

    /// <summary>Indexes <paramref name="factories"/> by kind.</summary>
    /// <exception cref="InvalidOperationException">Two factories name the same kind, or one names a kind this package builds.</exception>
    internal RewardKindFactories(IEnumerable<IRewardKindFactory> factories)
    {
        foreach (var factory in factories)
        {
            foreach (var kind in factory.Kinds)
            {
                if (IsBuiltIn(kind))
                    throw new InvalidOperationException($"{factory.GetType().FullName} claims RewardKind.{kind}, which TailorPO.Rewards builds itself.");
                if (!_byKind.TryAdd(kind, factory))
                    throw new InvalidOperationException(
                        $"RewardKind.{kind} is claimed by both {_byKind[kind].GetType().FullName} and {factory.GetType().FullName}; register one of them.");
            }
        }
    }

    /// <summary>True for the kinds TailorPO.Rewards builds without a factory (analytic, JPEG, custom).</summary>
    internal static bool IsBuiltIn(RewardKind kind) => kind is RewardKind.Colorfulness or RewardKind.Saturation
        or RewardKind.BrightnessTarget or RewardKind.ContrastTarget or RewardKind.JpegCompressibility
        or RewardKind.JpegIncompressibility or RewardKind.Custom;

    /// <summary>The factory registered for <paramref name="kind"/>, or null.</summary>
    internal IRewardKindFactory? For(RewardKind kind) => _byKind.GetValueOrDefault(kind);

    /// <summary>What to do when no registered factory builds <paramref name="kind"/>.</summary>
    internal static string Missing(RewardKind kind, string path) =>
        kind is RewardKind.LaionAesthetic or RewardKind.ClipScore or RewardKind.HpsV2 or RewardKind.ImageReward
            ? $"{path}.Kind is {kind}, a learned reward that the {LearnedRewardsPackage} package builds: add that package and call services.AddTailorPORewardModels()."
            : $"{path}.Kind is {kind}, and no registered IRewardKindFactory builds it: register the factory of the package that provides it.";
}
