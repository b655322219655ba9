using TailorPO.Core.Abstractions;

namespace TailorPO.Rewards.Options;

/// <summary>One reward of the configured reward (a single reward or a member of the ensemble).</summary>
public sealed class RewardMemberOptions
{
    /// <summary>Which reward. Default <see cref="RewardKind.Colorfulness"/>.</summary>
    public RewardKind Kind { get; set; } = RewardKind.Colorfulness;

    /// <summary>Weight in the ensemble sum; finite. Default 1. (The paper trains on one reward at a time.)</summary>
    public double Weight { get; set; } = 1.0;

    /// <summary>Normalisation before weighting. Default <see cref="RewardNormalizationKind.None"/>.</summary>
    public RewardNormalizationKind Normalization { get; set; } = RewardNormalizationKind.None;

    /// <summary>Mean for <see cref="RewardNormalizationKind.Fixed"/>; finite. Default 0.</summary>
    public double NormalizationMean { get; set; }

    /// <summary>Standard deviation for <see cref="RewardNormalizationKind.Fixed"/>; finite and &gt; 0. Default 1.</summary>
    public double NormalizationStandardDeviation { get; set; } = 1.0;

    /// <summary>eps added to the running std for <see cref="RewardNormalizationKind.Running"/>; finite and &gt; 0. Default 1e-6.</summary>
    public double RunningEpsilon { get; set; } = 1e-6;

    /// <summary>Target mean luma of <see cref="RewardKind.BrightnessTarget"/>, in [0, 1]. Default 0.5.</summary>
    public double BrightnessTarget { get; set; } = 0.5;

    /// <summary>Target luma standard deviation of <see cref="RewardKind.ContrastTarget"/>, in [0, 0.5]. Default 0.25.</summary>
    public double ContrastTarget { get; set; } = 0.25;

    /// <summary>Pixel scale of <see cref="RewardKind.Colorfulness"/>: 1 (default, [0, 1] scale) or 255 (the paper's scale); finite and &gt; 0.</summary>
    public double ColorfulnessPixelScale { get; set; } = 1.0;

    /// <summary>
    /// The epsilon of an analytic reward (colourfulness and contrast: added under the square root,
    /// default 1e-8; saturation: added to the maximum, default 1e-3); null keeps the reward's default.
    /// Finite and &gt; 0 when set.
    /// </summary>
    public double? Epsilon { get; set; }

    /// <summary>
    /// JPEG quality of <see cref="RewardKind.JpegCompressibility"/> and <see cref="RewardKind.JpegIncompressibility"/>,
    /// 1..100. Default 95 (DDPO and the paper).
    /// </summary>
    public int JpegQuality { get; set; } = Jpeg.BaselineJpegEncoder.DefaultQuality;

    /// <summary>
    /// Model folder of <see cref="RewardKind.LaionAesthetic"/> (a transformers CLIP vision or CLIPModel folder,
    /// e.g. openai/clip-vit-large-patch14) and <see cref="RewardKind.ClipScore"/> (a CLIPModel folder with
    /// <c>logit_scale</c>, e.g. yuvalkirstain/PickScore_v1). Must exist for those kinds.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>The aesthetic head's safetensors file (keys <c>layers.{0,2,4,6,7}.*</c>) for <see cref="RewardKind.LaionAesthetic"/>.</summary>
    public string? AestheticHeadPath { get; set; }

    /// <summary>
    /// The CLIP tokenizer folder of <see cref="RewardKind.ClipScore"/> (<c>vocab.json</c> and <c>merges.txt</c>,
    /// optionally <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>), loaded with
    /// <c>ClipTokenizer.FromFolder</c>. Set this or <see cref="Tokenize"/>, not both.
    /// </summary>
    public string? TokenizerPath { get; set; }

    /// <summary>
    /// Prompts to int64 token ids [B, S] for <see cref="RewardKind.ClipScore"/>, when the tokenizer is not a
    /// CLIP tokenizer folder (<see cref="TokenizerPath"/>). Set this or <see cref="TokenizerPath"/>, not both.
    /// </summary>
    public Func<IReadOnlyList<string>, TorchSharp.torch.Tensor>? Tokenize { get; set; }

    /// <summary>Weight dtype of a model-based reward; null keeps float32 (use float16/bfloat16 on GPU).</summary>
    public TorchSharp.torch.ScalarType? ModelDType { get; set; }

    /// <summary>Device of a model-based reward, e.g. "cuda:0"; null keeps the CPU.</summary>
    public string? ModelDevice { get; set; }

    /// <summary>Builds the reward for <see cref="RewardKind.Custom"/> (required then, ignored otherwise).</summary>
    public Func<IServiceProvider, IRewardModel>? Factory { get; set; }
}
