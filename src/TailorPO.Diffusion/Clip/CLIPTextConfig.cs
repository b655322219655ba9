using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The text tower's configuration, read from a transformers <c>CLIPTextConfig</c>
/// <c>config.json</c> (e.g. SD v1.5's <c>text_encoder/</c>) or from the <c>text_config</c> of a
/// <c>CLIPConfig</c>. Keys absent from the file take transformers 4.33's defaults.
/// </summary>
public sealed record CLIPTextConfig
{
    /// <summary>Vocabulary size (rows of the token embedding).</summary>
    public long VocabSize { get; init; } = 49408;

    /// <summary>Width of the residual stream.</summary>
    public long HiddenSize { get; init; } = 512;

    /// <summary>Width of the MLP's hidden layer.</summary>
    public long IntermediateSize { get; init; } = 2048;

    /// <summary>Output width of <c>text_projection</c> (only used by <see cref="CLIPTextModelWithProjection"/>).</summary>
    public long ProjectionDim { get; init; } = 512;

    /// <summary>Number of encoder layers.</summary>
    public long NumHiddenLayers { get; init; } = 12;

    /// <summary>Number of attention heads (must divide <see cref="HiddenSize"/>).</summary>
    public long NumAttentionHeads { get; init; } = 8;

    /// <summary>Number of learned positions: the longest token sequence accepted.</summary>
    public long MaxPositionEmbeddings { get; init; } = 77;

    /// <summary>MLP activation, one of <see cref="CLIPActivation.SupportedNames"/>.</summary>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>Epsilon of every LayerNorm.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Padding token id (informational).</summary>
    public long PadTokenId { get; init; } = 1;

    /// <summary>Begin-of-text token id (informational).</summary>
    public long BosTokenId { get; init; } = 49406;

    /// <summary>
    /// End-of-text token id. It chooses the pooling rule: the legacy value 2 (SD v1.5's config)
    /// pools at the position of the largest input id; any other value pools at the first
    /// position holding this id (transformers 4.33).
    /// </summary>
    public long EosTokenId { get; init; } = 49407;

    /// <summary>SD v1.5's text encoder (openai/clip-vit-large-patch14's text tower).</summary>
    public static CLIPTextConfig StableDiffusionV15 { get; } = new()
    {
        VocabSize = 49408,
        HiddenSize = 768,
        IntermediateSize = 3072,
        ProjectionDim = 768,
        NumHiddenLayers = 12,
        NumAttentionHeads = 12,
        MaxPositionEmbeddings = 77,
        HiddenAct = "quick_gelu",
        LayerNormEps = 1e-5,
        PadTokenId = 1,
        BosTokenId = 0,
        EosTokenId = 2,
    };

    /// <summary>True when <see cref="EosTokenId"/> selects transformers' legacy argmax pooling.</summary>
    public bool UsesLegacyArgmaxPooling => EosTokenId == 2;

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed or holds an unusable value.</exception>
    public static CLIPTextConfig FromFile(string path) => From(JsonConfigObject.Load(path));

    /// <summary>Parses config JSON text.</summary>
    /// <exception cref="ModelConfigException">The text is malformed or holds an unusable value.</exception>
    public static CLIPTextConfig FromJson(string json, string source = "in-memory config") =>
        From(JsonConfigObject.Parse(json, source));

    internal static CLIPTextConfig From(JsonConfigObject root)
    {
        var section = CLIPConfigSections.Select(root, "text_config", "text_config_dict", "clip_text_model", "clip_vision_model");
        var defaults = new CLIPTextConfig();
        var config = new CLIPTextConfig
        {
            VocabSize = section.Int("vocab_size", defaults.VocabSize),
            HiddenSize = section.Int("hidden_size", defaults.HiddenSize),
            IntermediateSize = section.Int("intermediate_size", defaults.IntermediateSize),
            ProjectionDim = section.Int("projection_dim", root.Int("projection_dim", defaults.ProjectionDim)),
            NumHiddenLayers = section.Int("num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = section.Int("num_attention_heads", defaults.NumAttentionHeads),
            MaxPositionEmbeddings = section.Int("max_position_embeddings", defaults.MaxPositionEmbeddings),
            HiddenAct = section.String("hidden_act", defaults.HiddenAct),
            LayerNormEps = section.Double("layer_norm_eps", defaults.LayerNormEps),
            PadTokenId = section.Int("pad_token_id", defaults.PadTokenId),
            BosTokenId = section.Int("bos_token_id", defaults.BosTokenId),
            EosTokenId = section.Int("eos_token_id", defaults.EosTokenId),
        };
        config.Validate(section.Source);
        return config;
    }

    /// <summary>Checks that the numbers describe a buildable model.</summary>
    /// <exception cref="ModelConfigException">A value is out of range; the message names it.</exception>
    public void Validate(string source = "in-memory config")
    {
        CLIPConfigSections.RequirePositive(source, ("vocab_size", VocabSize), ("hidden_size", HiddenSize),
            ("intermediate_size", IntermediateSize), ("projection_dim", ProjectionDim), ("num_hidden_layers", NumHiddenLayers),
            ("num_attention_heads", NumAttentionHeads), ("max_position_embeddings", MaxPositionEmbeddings));
        CLIPConfigSections.RequireCommon(source, HiddenSize, NumAttentionHeads, HiddenAct, LayerNormEps);
    }
}
