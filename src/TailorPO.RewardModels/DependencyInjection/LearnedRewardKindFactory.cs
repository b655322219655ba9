using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tokenization;
using TailorPO.Rewards.Aesthetic;
using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Clip;
using TailorPO.Rewards.Hps;
using TailorPO.Rewards.Options;

namespace TailorPO.Rewards.DependencyInjection;

/// <summary>
/// Builds the learned reward kinds of <see cref="TailorPORewardsOptions"/> (aesthetic, CLIP score, HPSv2, ImageReward)
/// from their members, with <see cref="TailorPORewardModelsOptions"/>' dtype and device where a member leaves them unset.
/// </summary>
internal sealed class LearnedRewardKindFactory(IOptions<TailorPORewardModelsOptions> options) : IRewardKindFactory
{
    private static readonly RewardKind[] LearnedKinds = [RewardKind.LaionAesthetic, RewardKind.ClipScore, RewardKind.HpsV2, RewardKind.ImageReward];

    /// <inheritdoc />
    public IReadOnlyCollection<RewardKind> Kinds => LearnedKinds;

    /// <inheritdoc />
    public void Validate(RewardMemberOptions member, string path, ICollection<string> failures)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(failures);
        switch (member.Kind)
        {
            case RewardKind.LaionAesthetic:
                RequireModelFolder(member.ModelPath, $"{path}.ModelPath", failures);
                if (string.IsNullOrWhiteSpace(member.AestheticHeadPath) || !File.Exists(member.AestheticHeadPath))
                    failures.Add($"{path}.AestheticHeadPath is '{member.AestheticHeadPath}'; it must name the aesthetic head's safetensors file.");
                break;
            case RewardKind.ClipScore:
                RequireModelFolder(member.ModelPath, $"{path}.ModelPath", failures);
                if (member.Tokenize is null && member.TokenizerPath is null)
                    failures.Add($"{path}.Tokenize is null and TokenizerPath is not set; a CLIP score needs a tokenizer (a CLIP tokenizer folder, or a function from prompts to token ids).");
                else if (member.Tokenize is not null && member.TokenizerPath is not null)
                    failures.Add($"{path}.Tokenize and TokenizerPath are both set; set one of them.");
                else if (member.TokenizerPath is { } tokenizer
                         && !(File.Exists(Path.Combine(tokenizer, "vocab.json")) && File.Exists(Path.Combine(tokenizer, "merges.txt"))))
                    failures.Add($"{path}.TokenizerPath is '{tokenizer}'; it must be a CLIP tokenizer folder with vocab.json and merges.txt.");
                break;
            case RewardKind.HpsV2:
                RequireFiles(member.ModelPath, $"{path}.ModelPath", "an HPSv2 folder", failures,
                    OpenClipModel.ConfigFileName, OpenClipModel.WeightsFileName);
                if (member.ModelPath is { } hps && Directory.Exists(hps) && !Directory.Exists(Path.Combine(hps, "tokenizer"))
                    && !File.Exists(Path.Combine(hps, HpsV2Reward.BpeMergesFileName)))
                    failures.Add($"{path}.ModelPath '{hps}' has no CLIP tokenizer: add 'tokenizer/' (vocab.json + merges.txt) or {HpsV2Reward.BpeMergesFileName}.");
                break;
            case RewardKind.ImageReward:
                RequireFiles(member.ModelPath, $"{path}.ModelPath", "an ImageReward folder", failures, ImageRewardConfig.MedConfigFileName,
                    ImageRewardConfig.ConfigFileName, ImageRewardScorer.WeightsFileName, Path.Combine("tokenizer", "vocab.txt"));
                break;
            default:
                failures.Add($"{path}.Kind is {member.Kind}, which TailorPO.RewardModels does not build.");
                break;
        }
    }

    /// <inheritdoc />
    public IRewardModel Create(IServiceProvider services, RewardMemberOptions member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var defaults = options.Value;
        var dtype = member.ModelDType ?? defaults.ModelDType;
        var deviceName = member.ModelDevice ?? defaults.ModelDevice;
        var device = deviceName is null ? null : new TorchSharp.torch.Device(deviceName);
        return member.Kind switch
        {
            RewardKind.LaionAesthetic => LaionAestheticScorer.FromPretrained(member.ModelPath!, member.AestheticHeadPath!, dtype, device),
            RewardKind.ClipScore => member.Tokenize is { } tokenize
                ? ClipScoreReward.FromPretrained(member.ModelPath!, tokenize, dtype, device)
                : ClipScoreReward.FromPretrained(member.ModelPath!, ClipTokenizer.FromFolder(member.TokenizerPath!), dtype, device),
            RewardKind.HpsV2 => HpsV2Reward.FromPretrained(member.ModelPath!, dtype, device),
            RewardKind.ImageReward => ImageRewardScorer.FromPretrained(member.ModelPath!, dtype, device),
            _ => throw new ArgumentOutOfRangeException(nameof(member), member.Kind, "TailorPO.RewardModels builds only the learned reward kinds."),
        };
    }

    private static void RequireFiles(string? folder, string name, string what, ICollection<string> failures, params string[] files)
    {
        if (string.IsNullOrWhiteSpace(folder) || !Directory.Exists(folder))
        {
            failures.Add($"{name} is '{folder}'; it must be {what} ({string.Join(", ", files)}).");
            return;
        }
        var missing = files.Where(f => !File.Exists(Path.Combine(folder, f))).ToList();
        if (missing.Count > 0)
            failures.Add($"{name} '{folder}' lacks {string.Join(", ", missing)}; it must be {what} ({string.Join(", ", files)}); see docs/rewards.md for converting the published checkpoint.");
    }

    private static void RequireModelFolder(string? path, string name, ICollection<string> failures)
    {
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(Path.Combine(path, "config.json")))
            failures.Add($"{name} is '{path}'; it must be a model folder with a config.json.");
    }
}
