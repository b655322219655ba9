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

    /// <summary>MLP activation, one of <see cref="ClipActivation.SupportedNames"/>.</summary>
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

    /// <summary>
    /// The range every integer key must lie in (checked on read and by <see cref="Validate"/>, before
    /// anything is allocated).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (long Min, long Max)> IntegerRanges =
        new Dictionary<string, (long, long)>(ClipConfigSections.SharedRanges.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal)
        {
            ["vocab_size"] = (1, 16_777_216),
            ["max_position_embeddings"] = (1, 65_536),
            ["pad_token_id"] = (0, int.MaxValue),
            ["bos_token_id"] = (0, int.MaxValue),
            ["eos_token_id"] = (0, int.MaxValue),
        };

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static CLIPTextConfig FromFile(string path, ModelSizeLimits? limits = null) => From(JsonConfigObject.Load(path), limits);

    /// <summary>Parses config JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">The text is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static CLIPTextConfig FromJson(string json, string source = "in-memory config", ModelSizeLimits? limits = null) =>
        From(JsonConfigObject.Parse(json, source), limits);

    internal static CLIPTextConfig From(JsonConfigObject root, ModelSizeLimits? limits = null)
    {
        var section = ClipConfigSections.Select(root, "text_config", "text_config_dict", "clip_text_model", "clip_vision_model");
        var defaults = new CLIPTextConfig();
        var config = new CLIPTextConfig
        {
            VocabSize = ClipConfigSections.Int(section, IntegerRanges, "vocab_size", defaults.VocabSize),
            HiddenSize = ClipConfigSections.Int(section, IntegerRanges, "hidden_size", defaults.HiddenSize),
            IntermediateSize = ClipConfigSections.Int(section, IntegerRanges, "intermediate_size", defaults.IntermediateSize),
            ProjectionDim = ClipConfigSections.Int(section, IntegerRanges, "projection_dim", ClipConfigSections.Int(root, IntegerRanges, "projection_dim", defaults.ProjectionDim)),
            NumHiddenLayers = ClipConfigSections.Int(section, IntegerRanges, "num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = ClipConfigSections.Int(section, IntegerRanges, "num_attention_heads", defaults.NumAttentionHeads),
            MaxPositionEmbeddings = ClipConfigSections.Int(section, IntegerRanges, "max_position_embeddings", defaults.MaxPositionEmbeddings),
            HiddenAct = section.String("hidden_act", defaults.HiddenAct),
            LayerNormEps = section.Double("layer_norm_eps", defaults.LayerNormEps),
            PadTokenId = ClipConfigSections.Int(section, IntegerRanges, "pad_token_id", defaults.PadTokenId),
            BosTokenId = ClipConfigSections.Int(section, IntegerRanges, "bos_token_id", defaults.BosTokenId),
            EosTokenId = ClipConfigSections.Int(section, IntegerRanges, "eos_token_id", defaults.EosTokenId),
        };
        config.Validate(section.Source, limits);
        return config;
    }

    /// <summary>The exact number of parameters of <see cref="CLIPTextModel"/> (or, with the projection, <see cref="CLIPTextModelWithProjection"/>).</summary>
    internal Int128 CountParameters(bool withProjection) =>
        (Int128)VocabSize * HiddenSize + (Int128)MaxPositionEmbeddings * HiddenSize
        + NumHiddenLayers * ClipConfigSections.EncoderLayerParameters(HiddenSize, IntermediateSize)
        + ParameterMath.Norm(HiddenSize) + (withProjection ? ParameterMath.Linear(HiddenSize, ProjectionDim, false) : 0);

    /// <summary>Checks that the numbers describe a buildable model within <paramref name="limits"/> (counted with the projection).</summary>
    /// <param name="source">The config's file, for the message.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">A value is out of range; the message names it.</exception>
    public void Validate(string source = "in-memory config", ModelSizeLimits? limits = null)
    {
        ClipConfigSections.RequireInRange(source, IntegerRanges, ("vocab_size", VocabSize), ("hidden_size", HiddenSize),
            ("intermediate_size", IntermediateSize), ("projection_dim", ProjectionDim), ("num_hidden_layers", NumHiddenLayers),
            ("num_attention_heads", NumAttentionHeads), ("max_position_embeddings", MaxPositionEmbeddings),
            ("pad_token_id", PadTokenId), ("bos_token_id", BosTokenId), ("eos_token_id", EosTokenId));
        ClipConfigSections.RequireCommon(source, HiddenSize, NumAttentionHeads, HiddenAct, LayerNormEps);
        var tooBig = (limits ?? ModelSizeLimits.Default).ParameterProblem(CountParameters(withProjection: true), "CLIP text encoder",
            $"vocab_size {VocabSize}, hidden_size {HiddenSize}, intermediate_size {IntermediateSize}, num_hidden_layers {NumHiddenLayers} and max_position_embeddings {MaxPositionEmbeddings}");
        if (tooBig is not null) throw new ModelConfigException(source, tooBig + ".");
    }
}
