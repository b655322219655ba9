using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Options;
using TailorPO.Shapes;

namespace TailorPO.Samples.Alignment;

/// <summary>The <c>--reward</c> names of the CLI and how each one is registered.</summary>
public static class RewardChoice
{
    /// <summary>Every accepted name.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "preference", "jpeg-compressibility", "jpeg-incompressibility", "colorfulness", "brightness", "saturation", "aesthetic", "clip-score", "hpsv2", "imagereward",
        "ensemble",
    ];

    /// <summary>True when the reward has a gradient with respect to the image (TailorPO-G needs one).</summary>
    public static bool IsDifferentiable(string name) => name is "preference" or "colorfulness" or "brightness" or "saturation" or "aesthetic" or "clip-score" or "hpsv2" or "imagereward";

    /// <summary>The problems of a reward choice (unknown name, missing weight paths), each a full sentence.</summary>
    public static IEnumerable<string> Problems(string name, string? clipFolder, string? aestheticHead)
    {
        if (!Names.Contains(name))
        {
            yield return $"--reward must be one of {string.Join(", ", Names)}; got '{name}'.";
            yield break;
        }
        if (name is "aesthetic" or "clip-score" && clipFolder is null)
            yield return $"--reward {name} needs --clip-model <folder> (a CLIP {(name == "aesthetic" ? "ViT-L/14 vision" : "model (e.g. PickScore_v1)")} folder in diffusers/transformers layout).";
        if (name is "hpsv2" or "imagereward" && clipFolder is null)
            yield return $"--reward {name} needs --reward-model <folder> (the converted {(name == "hpsv2" ? "HPSv2" : "ImageReward")} folder; docs/rewards.md).";
        if (clipFolder is not null && !Directory.Exists(clipFolder))
            yield return $"--clip-model / --reward-model '{clipFolder}' is not an existing folder.";
        if (name == "aesthetic" && aestheticHead is null)
            yield return "--reward aesthetic needs --aesthetic-head <file> (the LAION aesthetic MLP as safetensors).";
        if (aestheticHead is not null && !File.Exists(aestheticHead))
            yield return $"--aesthetic-head '{aestheticHead}' does not exist.";
    }

    /// <summary>
    /// A reward by CLI name on its own, outside a run's container (a monitor of the grade): the provider owns it, so
    /// dispose the provider when done.
    /// </summary>
    public static (IRewardModel Reward, ServiceProvider Owner) Build(string name, string? clipFolder = null, string? aestheticHead = null)
    {
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => Configure(o, name, clipFolder, aestheticHead, clipFolder));
        services.AddTailorPORewardModels();
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<IRewardModel>(), provider);
    }

    /// <summary>Adds the reward's members to the rewards options.</summary>
    /// <param name="options">The options to fill.</param>
    /// <param name="name">A name from <see cref="Names"/>.</param>
    /// <param name="clipFolder">CLIP weights for aesthetic / clip-score; the model folder of hpsv2 / imagereward.</param>
    /// <param name="aestheticHead">The aesthetic MLP for aesthetic.</param>
    /// <param name="tokenizerFolder">A CLIP tokenizer folder for clip-score.</param>
    public static void Configure(TailorPORewardsOptions options, string name, string? clipFolder, string? aestheticHead, string? tokenizerFolder)
    {
        ArgumentNullException.ThrowIfNull(options);
        switch (name)
        {
            case "preference":
                // The embedded preference model is a transformers CLIPModel folder: scored exactly as PickScore would be.
                options.Add(RewardKind.ClipScore, configure: m => (m.ModelPath, m.TokenizerPath) =
                    (clipFolder ?? EmbeddedPreferenceModel.Folder, tokenizerFolder ?? EmbeddedPreferenceModel.TokenizerFolder));
                break;
            case "jpeg-compressibility": options.Add(RewardKind.JpegCompressibility); break;
            case "jpeg-incompressibility": options.Add(RewardKind.JpegIncompressibility); break;
            case "colorfulness": options.Add(RewardKind.Colorfulness); break;
            case "brightness": options.Add(RewardKind.BrightnessTarget, configure: m => m.BrightnessTarget = 1.0); break;
            case "saturation": options.Add(RewardKind.Saturation); break;
            case "aesthetic": options.Add(RewardKind.LaionAesthetic, configure: m => (m.ModelPath, m.AestheticHeadPath) = (clipFolder, aestheticHead)); break;
            case "clip-score": options.Add(RewardKind.ClipScore, configure: m => (m.ModelPath, m.TokenizerPath) = (clipFolder, tokenizerFolder)); break;
            case "hpsv2": options.Add(RewardKind.HpsV2, configure: m => m.ModelPath = clipFolder); break;
            case "imagereward": options.Add(RewardKind.ImageReward, configure: m => m.ModelPath = clipFolder); break;
            case "ensemble":
                // A normalised ensemble: each member z-scored by running statistics, so neither dominates by its units.
                options.Add(RewardKind.JpegCompressibility, configure: m => m.Normalization = RewardNormalizationKind.Running);
                options.Add(RewardKind.Colorfulness, configure: m => m.Normalization = RewardNormalizationKind.Running);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown reward '{name}'.");
        }
    }
}
