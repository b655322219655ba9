using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Hps;
using TailorPO.Rewards.Jpeg;

namespace TailorPO.Rewards.DependencyInjection;

/// <summary>Builds the configured reward from validated options.</summary>
internal static class RewardFactory
{
    /// <summary>
    /// One member with weight 1 and no normalisation: that reward itself. Otherwise a
    /// <see cref="RewardEnsemble"/> of all members.
    /// </summary>
    internal static IRewardModel Create(IServiceProvider services, TailorPORewardsOptions options)
    {
        if (options.Rewards.Count == 1 && options.Rewards[0] is { Weight: 1.0, Normalization: RewardNormalizationKind.None } single)
            return CreateMember(services, single);
        var members = new List<RewardEnsembleMember>();
        var owned = new List<IDisposable>();
        try
        {
            foreach (var member in options.Rewards)
            {
                var reward = CreateMember(services, member);
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

    internal static IRewardModel CreateMember(IServiceProvider services, RewardMemberOptions member) => member.Kind switch
    {
        RewardKind.Colorfulness => new ColorfulnessReward(member.ColorfulnessPixelScale, member.Epsilon ?? 1e-8),
        RewardKind.Saturation => new SaturationReward(member.Epsilon ?? 1e-3),
        RewardKind.BrightnessTarget => new BrightnessTargetReward(member.BrightnessTarget),
        RewardKind.ContrastTarget => new ContrastTargetReward(member.ContrastTarget, member.Epsilon ?? 1e-8),
        RewardKind.LaionAesthetic => LaionAestheticScorer.FromPretrained(member.ModelPath!, member.AestheticHeadPath!, member.ModelDType, ModelDevice(member)),
        RewardKind.ClipScore => member.Tokenize is { } tokenize
            ? ClipScoreReward.FromPretrained(member.ModelPath!, tokenize, member.ModelDType, ModelDevice(member))
            : ClipScoreReward.FromPretrained(member.ModelPath!, ClipTokenizer.FromFolder(member.TokenizerPath!), member.ModelDType, ModelDevice(member)),
        RewardKind.HpsV2 => HpsV2Reward.FromPretrained(member.ModelPath!, member.ModelDType, ModelDevice(member)),
        RewardKind.ImageReward => ImageRewardScorer.FromPretrained(member.ModelPath!, member.ModelDType, ModelDevice(member)),
        RewardKind.JpegCompressibility => new JpegCompressibilityReward(new JpegRewardOptions { Quality = member.JpegQuality }),
        RewardKind.JpegIncompressibility => new JpegIncompressibilityReward(new JpegRewardOptions { Quality = member.JpegQuality }),
        RewardKind.Custom => member.Factory?.Invoke(services)
            ?? throw new InvalidOperationException("The custom reward factory returned null."),
        _ => throw new ArgumentOutOfRangeException(nameof(member), member.Kind, "Unknown reward kind."),
    };

    private static TorchSharp.torch.Device? ModelDevice(RewardMemberOptions member) =>
        member.ModelDevice is null ? null : new TorchSharp.torch.Device(member.ModelDevice);

    private static IRewardNormalizer CreateNormalizer(RewardMemberOptions member) => member.Normalization switch
    {
        RewardNormalizationKind.Fixed => new FixedRewardNormalizer(member.NormalizationMean, member.NormalizationStandardDeviation),
        RewardNormalizationKind.Running => new RunningRewardNormalizer(member.RunningEpsilon),
        _ => IdentityRewardNormalizer.Instance,
    };
}
