using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The vision tower's configuration, read from a transformers <c>CLIPVisionConfig</c>
/// <c>config.json</c> or from the <c>vision_config</c> of a <c>CLIPConfig</c>. Keys absent from
/// the file take transformers 4.33's defaults.
/// </summary>
public sealed record CLIPVisionConfig
{
    /// <summary>Width of the residual stream.</summary>
    public long HiddenSize { get; init; } = 768;

    /// <summary>Width of the MLP's hidden layer.</summary>
    public long IntermediateSize { get; init; } = 3072;

    /// <summary>Output width of <c>visual_projection</c> (the image embedding).</summary>
    public long ProjectionDim { get; init; } = 512;

    /// <summary>Number of encoder layers.</summary>
    public long NumHiddenLayers { get; init; } = 12;

    /// <summary>Number of attention heads (must divide <see cref="HiddenSize"/>).</summary>
    public long NumAttentionHeads { get; init; } = 12;

    /// <summary>Input channels of <c>pixel_values</c>.</summary>
    public long NumChannels { get; init; } = 3;

    /// <summary>Input height and width; the model accepts only this size.</summary>
    public long ImageSize { get; init; } = 224;

    /// <summary>Side of a square patch (must divide <see cref="ImageSize"/>).</summary>
    public long PatchSize { get; init; } = 32;

    /// <summary>MLP activation, one of <see cref="ClipActivation.SupportedNames"/>.</summary>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>Epsilon of every LayerNorm.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Patches per image side.</summary>
    public long PatchesPerSide => ImageSize / PatchSize;

    /// <summary>Tokens per image: one per patch plus the class token.</summary>
    public long NumPositions => PatchesPerSide * PatchesPerSide + 1;

    /// <summary>
    /// The range every integer key must lie in (checked on read and by <see cref="Validate"/>, before
    /// anything is allocated).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (long Min, long Max)> IntegerRanges =
        new Dictionary<string, (long, long)>(ClipConfigSections.SharedRanges.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal)
        {
            ["num_channels"] = (1, 64),
            ["image_size"] = (1, 16_384),
            ["patch_size"] = (1, 16_384),
        };

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static CLIPVisionConfig FromFile(string path, ModelSizeLimits? limits = null) => From(JsonConfigObject.Load(path), limits);

    /// <summary>Parses config JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">The text is malformed, gives a key twice, or holds an unusable or out-of-range value.</exception>
    public static CLIPVisionConfig FromJson(string json, string source = "in-memory config", ModelSizeLimits? limits = null) =>
        From(JsonConfigObject.Parse(json, source), limits);

    internal static CLIPVisionConfig From(JsonConfigObject root, ModelSizeLimits? limits = null)
    {
        var section = ClipConfigSections.Select(root, "vision_config", "vision_config_dict", "clip_vision_model", "clip_text_model");
        var defaults = new CLIPVisionConfig();
        var config = new CLIPVisionConfig
        {
            HiddenSize = ClipConfigSections.Int(section, IntegerRanges, "hidden_size", defaults.HiddenSize),
            IntermediateSize = ClipConfigSections.Int(section, IntegerRanges, "intermediate_size", defaults.IntermediateSize),
            ProjectionDim = ClipConfigSections.Int(section, IntegerRanges, "projection_dim", ClipConfigSections.Int(root, IntegerRanges, "projection_dim", defaults.ProjectionDim)),
            NumHiddenLayers = ClipConfigSections.Int(section, IntegerRanges, "num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = ClipConfigSections.Int(section, IntegerRanges, "num_attention_heads", defaults.NumAttentionHeads),
            NumChannels = ClipConfigSections.Int(section, IntegerRanges, "num_channels", defaults.NumChannels),
            ImageSize = ClipConfigSections.Int(section, IntegerRanges, "image_size", defaults.ImageSize),
            PatchSize = ClipConfigSections.Int(section, IntegerRanges, "patch_size", defaults.PatchSize),
            HiddenAct = section.String("hidden_act", defaults.HiddenAct),
            LayerNormEps = section.Double("layer_norm_eps", defaults.LayerNormEps),
        };
        config.Validate(section.Source, limits);
        return config;
    }

    /// <summary>The exact number of parameters of <see cref="CLIPVisionModelWithProjection"/>.</summary>
    internal Int128 CountParameters() =>
        HiddenSize + ParameterMath.Conv(NumChannels, HiddenSize, PatchSize, bias: false) + (Int128)NumPositions * HiddenSize
        + 2 * ParameterMath.Norm(HiddenSize) + NumHiddenLayers * ClipConfigSections.EncoderLayerParameters(HiddenSize, IntermediateSize)
        + ParameterMath.Linear(HiddenSize, ProjectionDim, false);

    /// <summary>Checks that the numbers describe a buildable model within <paramref name="limits"/>.</summary>
    /// <param name="source">The config's file, for the message.</param>
    /// <param name="limits">The size limits (default <see cref="ModelSizeLimits.Default"/>).</param>
    /// <exception cref="ModelConfigException">A value is out of range; the message names it.</exception>
    public void Validate(string source = "in-memory config", ModelSizeLimits? limits = null)
    {
        ClipConfigSections.RequireInRange(source, IntegerRanges, ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize),
            ("projection_dim", ProjectionDim), ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads),
            ("num_channels", NumChannels), ("image_size", ImageSize), ("patch_size", PatchSize));
        if (ImageSize % PatchSize != 0)
            throw new ModelConfigException(source, $"'image_size' {ImageSize} is not a multiple of 'patch_size' {PatchSize}.");
        ClipConfigSections.RequireCommon(source, HiddenSize, NumAttentionHeads, HiddenAct, LayerNormEps);
        var tooBig = (limits ?? ModelSizeLimits.Default).ParameterProblem(CountParameters(), "CLIP vision encoder",
            $"hidden_size {HiddenSize}, intermediate_size {IntermediateSize}, num_hidden_layers {NumHiddenLayers}, image_size {ImageSize} and patch_size {PatchSize}");
        if (tooBig is not null) throw new ModelConfigException(source, tooBig + ".");
    }
}
