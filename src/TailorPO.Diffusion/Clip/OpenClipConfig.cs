using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// An open_clip model config (the format of open_clip's <c>model_configs/ViT-H-14.json</c>:
/// <c>embed_dim</c>, <c>quick_gelu</c>, <c>vision_cfg</c>, <c>text_cfg</c>) for the plain ViT image tower and
/// the plain transformer text tower, translated into this library's CLIP tower configs. open_clip's
/// defaults apply to absent keys (<c>head_width</c> 64, <c>mlp_ratio</c> 4, <c>heads</c> 8, <c>context_length</c>
/// 77, <c>vocab_size</c> 49408, <c>quick_gelu</c> false: exact erf GELU). Keys that select another architecture
/// (timm or Hugging Face towers, attentional pooling, layer scale, ...) are refused by name.
/// </summary>
public sealed record OpenClipConfig
{
    /// <summary>Width of the joint image-text space (both projections' output).</summary>
    public required long EmbedDim { get; init; }

    /// <summary>The image tower as a transformers-layout CLIP vision config.</summary>
    public required CLIPVisionConfig Vision { get; init; }

    /// <summary>
    /// The text tower as a transformers-layout CLIP text config. Its <see cref="CLIPTextConfig.EosTokenId"/>
    /// is the legacy 2, so the tower pools at the largest id (open_clip's <c>argmax(text)</c>: the first end-of-text).
    /// </summary>
    public required CLIPTextConfig Text { get; init; }

    // open_clip's CLIPVisionCfg / CLIPTextCfg fields this reader understands; the rest change the architecture.
    private static readonly HashSet<string> RootKeys = ["embed_dim", "quick_gelu", "vision_cfg", "text_cfg", "custom_text"];
    private static readonly HashSet<string> VisionKeys = ["image_size", "layers", "width", "head_width", "patch_size", "mlp_ratio"];
    private static readonly HashSet<string> TextKeys = ["context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"];

    /// <summary>Reads an open_clip JSON config file.</summary>
    /// <param name="path">The file, e.g. <c>open_clip_config.json</c>.</param>
    /// <param name="limits">Size limits the towers must respect (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed, describes an architecture other than ViT + transformer, or is too big.</exception>
    public static OpenClipConfig FromFile(string path, ModelSizeLimits? limits = null) => From(JsonConfigObject.Load(path), limits);

    /// <summary>Parses open_clip config JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <param name="limits">Size limits the towers must respect (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">The text is malformed, describes another architecture, or is too big.</exception>
    public static OpenClipConfig FromJson(string json, string source = "in-memory open_clip config", ModelSizeLimits? limits = null) =>
        From(JsonConfigObject.Parse(json, source), limits);

    private static OpenClipConfig From(JsonConfigObject root, ModelSizeLimits? limits)
    {
        RefuseUnknown(root, RootKeys);
        if (root.Bool("custom_text", false))
            throw root.Invalid("custom_text", "is true; only open_clip's plain CLIP text tower is supported.");
        var vision = root.Object("vision_cfg") ?? throw new ModelConfigException(root.Source, "the required object 'vision_cfg' is missing.");
        var text = root.Object("text_cfg") ?? throw new ModelConfigException(root.Source, "the required object 'text_cfg' is missing.");
        RefuseUnknown(vision, VisionKeys);
        RefuseUnknown(text, TextKeys);
        var embedDim = root.RequiredInt("embed_dim", 1, 1 << 20);
        var activation = root.Bool("quick_gelu", false) ? "quick_gelu" : "gelu";

        var visionWidth = vision.Int("width", 768, 1, 1 << 20);
        var headWidth = vision.Int("head_width", 64, 1, 1 << 20);
        if (visionWidth % headWidth != 0)
            throw vision.Invalid("head_width", $"{headWidth} does not divide 'vision_cfg.width' {visionWidth}.");
        var visionConfig = new CLIPVisionConfig
        {
            HiddenSize = visionWidth,
            IntermediateSize = Hidden(vision, visionWidth),
            ProjectionDim = embedDim,
            NumHiddenLayers = vision.Int("layers", 12, 1, 1 << 16),
            NumAttentionHeads = visionWidth / headWidth,
            ImageSize = vision.Int("image_size", 224, 1, 16_384),
            PatchSize = vision.Int("patch_size", 16, 1, 16_384),
            HiddenAct = activation,
            LayerNormEps = 1e-5,
        };
        var textConfig = new CLIPTextConfig
        {
            VocabSize = text.Int("vocab_size", 49408, 1, 16_777_216),
            HiddenSize = text.Int("width", 512, 1, 1 << 20),
            IntermediateSize = Hidden(text, text.Int("width", 512, 1, 1 << 20)),
            ProjectionDim = embedDim,
            NumHiddenLayers = text.Int("layers", 12, 1, 1 << 16),
            NumAttentionHeads = text.Int("heads", 8, 1, 1 << 16),
            MaxPositionEmbeddings = text.Int("context_length", 77, 1, 65_536),
            HiddenAct = activation,
            LayerNormEps = 1e-5,
            PadTokenId = 0,
            BosTokenId = 49406,
            EosTokenId = 2,
        };
        visionConfig.Validate(vision.Source + " (vision_cfg)", limits);
        textConfig.Validate(text.Source + " (text_cfg)", limits);
        return new OpenClipConfig { EmbedDim = embedDim, Vision = visionConfig, Text = textConfig };
    }

    // open_clip: mlp_width = int(width * mlp_ratio).
    private static long Hidden(JsonConfigObject section, long width)
    {
        var ratio = section.Double("mlp_ratio", 4.0);
        if (!double.IsFinite(ratio) || ratio <= 0 || ratio > 64)
            throw section.Invalid("mlp_ratio", $"is {ratio}, expected a number in (0, 64].");
        return (long)(width * ratio);
    }

    private static void RefuseUnknown(JsonConfigObject section, HashSet<string> known)
    {
        var unknown = section.Keys.Where(key => !known.Contains(key)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ModelConfigException(section.Source,
                $"'{(section.Path.Length == 0 ? "(root)" : section.Path)}' sets {string.Join(", ", unknown.Select(k => $"'{k}'"))}, which this reader does not support "
                + $"(it reads open_clip's plain ViT + text transformer: {string.Join(", ", known.Order(StringComparer.Ordinal))}).");
    }
}
