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

    /// <summary>MLP activation, one of <see cref="CLIPActivation.SupportedNames"/>.</summary>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>Epsilon of every LayerNorm.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Patches per image side.</summary>
    public long PatchesPerSide => ImageSize / PatchSize;

    /// <summary>Tokens per image: one per patch plus the class token.</summary>
    public long NumPositions => PatchesPerSide * PatchesPerSide + 1;

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelConfigException">The file is malformed or holds an unusable value.</exception>
    public static CLIPVisionConfig FromFile(string path) => From(JsonConfigObject.Load(path));

    /// <summary>Parses config JSON text.</summary>
    /// <exception cref="ModelConfigException">The text is malformed or holds an unusable value.</exception>
    public static CLIPVisionConfig FromJson(string json, string source = "in-memory config") =>
        From(JsonConfigObject.Parse(json, source));

    internal static CLIPVisionConfig From(JsonConfigObject root)
    {
        var section = CLIPConfigSections.Select(root, "vision_config", "vision_config_dict", "clip_vision_model", "clip_text_model");
        var defaults = new CLIPVisionConfig();
        var config = new CLIPVisionConfig
        {
            HiddenSize = section.Int("hidden_size", defaults.HiddenSize),
            IntermediateSize = section.Int("intermediate_size", defaults.IntermediateSize),
            ProjectionDim = section.Int("projection_dim", root.Int("projection_dim", defaults.ProjectionDim)),
            NumHiddenLayers = section.Int("num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = section.Int("num_attention_heads", defaults.NumAttentionHeads),
            NumChannels = section.Int("num_channels", defaults.NumChannels),
            ImageSize = section.Int("image_size", defaults.ImageSize),
            PatchSize = section.Int("patch_size", defaults.PatchSize),
            HiddenAct = section.String("hidden_act", defaults.HiddenAct),
            LayerNormEps = section.Double("layer_norm_eps", defaults.LayerNormEps),
        };
        config.Validate(section.Source);
        return config;
    }

    /// <summary>Checks that the numbers describe a buildable model.</summary>
    /// <exception cref="ModelConfigException">A value is out of range; the message names it.</exception>
    public void Validate(string source = "in-memory config")
    {
        CLIPConfigSections.RequirePositive(source, ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize),
            ("projection_dim", ProjectionDim), ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads),
            ("num_channels", NumChannels), ("image_size", ImageSize), ("patch_size", PatchSize));
        if (ImageSize % PatchSize != 0)
            throw new ModelConfigException(source, $"'image_size' {ImageSize} is not a multiple of 'patch_size' {PatchSize}.");
        CLIPConfigSections.RequireCommon(source, HiddenSize, NumAttentionHeads, HiddenAct, LayerNormEps);
    }
}
