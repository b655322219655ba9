using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Jpeg;
using TailorPO.Rewards.Options;

namespace TailorPO.Rewards.DependencyInjection;

/// <summary>
/// Builds the configured reward from validated options: the analytic, JPEG and custom kinds itself, every other kind
/// through the <see cref="IRewardKindFactory"/> registered for it.
/// </summary>
internal static class RewardFactory
{
    /// <summary>
    /// One member with weight 1 and no normalisation: that reward itself. Otherwise a
    /// <see cref="RewardEnsemble"/> of all members.
    /// </summary>
    internal static IRewardModel Create(IServiceProvider services, TailorPORewardsOptions options)
    {
        var factories = new RewardKindFactories(services.GetServices<IRewardKindFactory>());
        if (options.Rewards.Count == 1 && options.Rewards[0] is { Weight: 1.0, Normalization: RewardNormalizationKind.None } single)
            return CreateMember(services, factories, single, "TailorPORewardsOptions.Rewards[0]");
        var members = new List<RewardEnsembleMember>();
        var owned = new List<IDisposable>();
        try
        {
            for (var i = 0; i < options.Rewards.Count; i++)
            {
                var member = options.Rewards[i];
                var reward = CreateMember(services, factories, member, $"TailorPORewardsOptions.Rewards[{i}]");
                if (member.Kind != RewardKind.Custom && reward is IDisposable disposable)
                    owned.Add(disposable);
                members.Add(new RewardEnsembleMember(reward, member.Weight, CreateNormalizer(member)));
            }
            return new RewardEnsemble(members, options.EnsembleName, owned);
        }
        catch
        {
            foreach (var disposable in owned)
                disposable.Dispose();
            throw;
        }
    }

    private static IRewardModel CreateMember(IServiceProvider services, RewardKindFactories factories, RewardMemberOptions member, string path) => member.Kind switch
    {
        RewardKind.Colorfulness => new ColorfulnessReward(member.ColorfulnessPixelScale, member.Epsilon ?? 1e-8),
        RewardKind.Saturation => new SaturationReward(member.Epsilon ?? 1e-3),
        RewardKind.BrightnessTarget => new BrightnessTargetReward(member.BrightnessTarget),
        RewardKind.ContrastTarget => new ContrastTargetReward(member.ContrastTarget, member.Epsilon ?? 1e-8),
        RewardKind.JpegCompressibility => new JpegCompressibilityReward(new JpegRewardOptions { Quality = member.JpegQuality }),
        RewardKind.JpegIncompressibility => new JpegIncompressibilityReward(new JpegRewardOptions { Quality = member.JpegQuality }),
        RewardKind.Custom => member.Factory?.Invoke(services)
            ?? throw new InvalidOperationException("The custom reward factory returned null."),
        _ => CreateWithFactory(services, factories, member, path),
    };

    private static IRewardModel CreateWithFactory(IServiceProvider services, RewardKindFactories factories, RewardMemberOptions member, string path)
    {
        var factory = factories.For(member.Kind) ?? throw new InvalidOperationException(RewardKindFactories.Missing(member.Kind, path));
        return factory.Create(services, member)
            ?? throw new InvalidOperationException($"{factory.GetType().FullName} returned null for {path} (RewardKind.{member.Kind}).");
    }

    private static IRewardNormalizer CreateNormalizer(RewardMemberOptions member) => member.Normalization switch
    {
        RewardNormalizationKind.Fixed => new FixedRewardNormalizer(member.NormalizationMean, member.NormalizationStandardDeviation),
        RewardNormalizationKind.Running => new RunningRewardNormalizer(member.RunningEpsilon),
        _ => IdentityRewardNormalizer.Instance,
    };
}
