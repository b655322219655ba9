using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// The sizes and constants of an ImageReward model (THUDM/ImageReward): the BLIP ViT image encoder, the med.py BERT
/// text encoder with cross-attention (its <c>med_config.json</c>, a transformers BertConfig), and the reward's own
/// constants (<c>imagereward_config.json</c>). Defaults are the released ImageReward-v1.0: ViT-L/16 at 224 pixels
/// (1024 wide, 24 layers, 16 heads), BERT-base (768 wide, 12 layers, 12 heads), 35 tokens, mean 0.16717362830052426,
/// std 1.0333394966054072.
/// </summary>
public sealed record ImageRewardConfig
{
    /// <summary>The BERT config file of a model folder (BLIP's <c>configs/med_config.json</c>).</summary>
    public const string MedConfigFileName = "med_config.json";

    /// <summary>The reward's own config file of a model folder (image size, ViT sizes, mean/std, token length).</summary>
    public const string ConfigFileName = "imagereward_config.json";

    /// <summary>Text vocabulary size (BERT's 30,522 plus BLIP's <c>[DEC]</c> and <c>[ENC]</c>).</summary>
    public long VocabSize { get; init; } = 30524;

    /// <summary>Text width.</summary>
    public long HiddenSize { get; init; } = 768;

    /// <summary>Text layers.</summary>
    public long NumHiddenLayers { get; init; } = 12;

    /// <summary>Text attention heads (divides <see cref="HiddenSize"/>).</summary>
    public long NumAttentionHeads { get; init; } = 12;

    /// <summary>Text feed-forward width.</summary>
    public long IntermediateSize { get; init; } = 3072;

    /// <summary>Text position embeddings.</summary>
    public long MaxPositionEmbeddings { get; init; } = 512;

    /// <summary>Text LayerNorm epsilon.</summary>
    public double TextLayerNormEps { get; init; } = 1e-12;

    /// <summary>Text feed-forward activation (one of <see cref="ClipActivation.SupportedNames"/>).</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Square image side the ViT takes.</summary>
    public long ImageSize { get; init; } = 224;

    /// <summary>ViT patch side (divides <see cref="ImageSize"/>).</summary>
    public long PatchSize { get; init; } = 16;

    /// <summary>ViT width (the cross-attention's key/value input width).</summary>
    public long VisionWidth { get; init; } = 1024;

    /// <summary>ViT layers.</summary>
    public long VisionLayers { get; init; } = 24;

    /// <summary>ViT attention heads (divides <see cref="VisionWidth"/>).</summary>
    public long VisionHeads { get; init; } = 16;

    /// <summary>ViT MLP width.</summary>
    public long VisionMlpWidth { get; init; } = 4096;

    /// <summary>ViT LayerNorm epsilon.</summary>
    public double VisionLayerNormEps { get; init; } = 1e-6;

    /// <summary>Tokens per prompt, [CLS] and [SEP] included.</summary>
    public int MaxLength { get; init; } = 35;

    /// <summary>The raw MLP output's mean the reward subtracts.</summary>
    public double RewardMean { get; init; } = 0.16717362830052426;

    /// <summary>The raw MLP output's standard deviation the reward divides by.</summary>
    public double RewardStd { get; init; } = 1.0333394966054072;

    /// <summary>Patches per image side.</summary>
    public long PatchesPerSide => ImageSize / PatchSize;

    /// <summary>Image tokens: one per patch plus the class token.</summary>
    public long NumPositions => PatchesPerSide * PatchesPerSide + 1;

    /// <summary>Reads <see cref="MedConfigFileName"/> and <see cref="ConfigFileName"/> from a model folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="limits">Size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">A config file is missing.</exception>
    /// <exception cref="ModelConfigException">A file is malformed or describes an unusable or too big model.</exception>
    public static ImageRewardConfig FromFolder(string folder, ModelSizeLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var med = JsonConfigObject.Load(Path.Combine(folder, MedConfigFileName));
        var reward = JsonConfigObject.Load(Path.Combine(folder, ConfigFileName));
        var vit = reward.Object("vit") ?? throw new ModelConfigException(reward.Source, "the required object 'vit' (the ViT sizes) is missing.");
        var defaults = new ImageRewardConfig();
        var width = vit.Int("embed_dim", defaults.VisionWidth, 1, 1 << 20);
        var ratio = vit.Double("mlp_ratio", 4.0);
        if (!double.IsFinite(ratio) || ratio <= 0 || ratio > 64) throw vit.Invalid("mlp_ratio", $"is {ratio}, expected a number in (0, 64].");
        if (!vit.Bool("qkv_bias", true)) throw vit.Invalid("qkv_bias", "is false; BLIP's ViT has qkv biases.");
        var config = new ImageRewardConfig
        {
            VocabSize = med.Int("vocab_size", defaults.VocabSize, 1, 16_777_216),
            HiddenSize = med.Int("hidden_size", defaults.HiddenSize, 1, 1 << 20),
            NumHiddenLayers = med.Int("num_hidden_layers", defaults.NumHiddenLayers, 1, 1 << 16),
            NumAttentionHeads = med.Int("num_attention_heads", defaults.NumAttentionHeads, 1, 1 << 16),
            IntermediateSize = med.Int("intermediate_size", defaults.IntermediateSize, 1, 1 << 22),
            MaxPositionEmbeddings = med.Int("max_position_embeddings", defaults.MaxPositionEmbeddings, 1, 65_536),
            TextLayerNormEps = med.Double("layer_norm_eps", defaults.TextLayerNormEps),
            HiddenAct = med.String("hidden_act", defaults.HiddenAct),
            ImageSize = reward.Int("image_size", vit.Int("img_size", defaults.ImageSize, 1, 16_384), 1, 16_384),
            PatchSize = vit.Int("patch_size", defaults.PatchSize, 1, 16_384),
            VisionWidth = width,
            VisionLayers = vit.Int("depth", defaults.VisionLayers, 1, 1 << 16),
            VisionHeads = vit.Int("num_heads", defaults.VisionHeads, 1, 1 << 16),
            VisionMlpWidth = (long)(width * ratio),
            VisionLayerNormEps = vit.Double("layer_norm_eps", defaults.VisionLayerNormEps),
            MaxLength = (int)reward.Int("max_length", defaults.MaxLength, 2, 65_536),
            RewardMean = reward.Double("reward_mean", defaults.RewardMean),
            RewardStd = reward.Double("reward_std", defaults.RewardStd),
        };
        // med_config.json's encoder_width is not read: BLIP_Pretrain overwrites it with the ViT width (the released
        // file says 768 for a 1024-wide ViT-L).
        config.Validate(reward.Source, limits);
        return config;
    }

    /// <summary>Checks that the numbers describe a buildable model.</summary>
    /// <param name="source">Where the config came from, for messages.</param>
    /// <param name="limits">Size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">A value is unusable; the message names it.</exception>
    public void Validate(string source = "in-memory ImageReward config", ModelSizeLimits? limits = null)
    {
        var problems = new List<string>();
        if (HiddenSize % NumAttentionHeads != 0) problems.Add($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        if (VisionWidth % VisionHeads != 0) problems.Add($"the ViT width {VisionWidth} is not a multiple of its heads {VisionHeads}");
        if (PatchSize > ImageSize || ImageSize % PatchSize != 0) problems.Add($"image_size {ImageSize} is not a multiple of patch_size {PatchSize}");
        if (MaxLength > MaxPositionEmbeddings) problems.Add($"max_length {MaxLength} exceeds max_position_embeddings {MaxPositionEmbeddings}");
        if (!ClipActivation.IsSupported(HiddenAct)) problems.Add($"hidden_act '{HiddenAct}' is not one of {string.Join(", ", ClipActivation.SupportedNames)}");
        if (!(TextLayerNormEps > 0) || !(VisionLayerNormEps > 0)) problems.Add("LayerNorm epsilons must be > 0");
        if (!double.IsFinite(RewardMean) || !double.IsFinite(RewardStd) || RewardStd <= 0) problems.Add($"reward_mean {RewardMean} / reward_std {RewardStd} must be finite with std > 0");
        var parameters = (Int128)VocabSize * HiddenSize + (Int128)MaxPositionEmbeddings * HiddenSize
            + NumHiddenLayers * ((Int128)4 * HiddenSize * HiddenSize + (Int128)2 * HiddenSize * VisionWidth + (Int128)2 * HiddenSize * IntermediateSize)
            + VisionLayers * ((Int128)4 * VisionWidth * VisionWidth + (Int128)2 * VisionWidth * VisionMlpWidth)
            + (Int128)NumPositions * VisionWidth + (Int128)3 * PatchSize * PatchSize * VisionWidth;
        var tooBig = (limits ?? ModelSizeLimits.Default).ParameterProblem(parameters, "ImageReward model",
            $"hidden_size {HiddenSize}, {NumHiddenLayers} text layers, ViT width {VisionWidth} and {VisionLayers} ViT layers");
        if (tooBig is not null) problems.Add(tooBig);
        if (problems.Count > 0) throw new ModelConfigException(source, problems);
    }
}
