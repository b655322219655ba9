using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// transformers' <c>CLIPTextModelWithProjection</c>: the text tower plus the bias-free
/// <c>text_projection</c> into CLIP's joint image-text space (for CLIP-score style rewards).
/// Also loads the text half of a full CLIPModel folder.
/// </summary>
public sealed class CLIPTextModelWithProjection : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPTextTransformer text_model;
    private readonly Linear text_projection;
#pragma warning restore IDE1006

    /// <summary>Builds a randomly initialised model (float32, CPU).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="limits">The size limits the config must respect (default <see cref="Checkpoints.ModelSizeLimits.Default"/>); checked before anything is allocated.</param>
    /// <exception cref="Checkpoints.ModelConfigException">The config describes no buildable model, or one too big.</exception>
    public CLIPTextModelWithProjection(CLIPTextConfig config, Checkpoints.ModelSizeLimits? limits = null) : base(nameof(CLIPTextModelWithProjection))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(limits: limits);
        Config = config;
        text_model = new CLIPTextTransformer(config);
        text_projection = Layers.Linear(config.HiddenSize, config.ProjectionDim, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public CLIPTextConfig Config { get; }

    /// <summary>Loads a transformers folder; see <see cref="CLIPTextModel.FromPretrained(string, ScalarType?, Device?, string?)"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="Checkpoints.ModelConfigException">The config is malformed or unsupported.</exception>
    /// <exception cref="Checkpoints.StateDictMismatchException">The weights do not fit the config.</exception>
    public static CLIPTextModelWithProjection FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string? variant = null)
    {
        ClipInputs.WeightDType(dtype, nameof(dtype));
        return FromPretrained(folder, new Checkpoints.ModelLoadOptions { DType = dtype, Device = device, Variant = variant });
    }

    /// <summary>Loads a transformers folder with the options every model loader takes (config checked against the size limits first).</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="options">dtype, device, variant, pickle opt-in (<c>pytorch_model.bin</c>) and size limits.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="Checkpoints.ModelConfigException">The config is malformed, unsupported or too big.</exception>
    /// <exception cref="Checkpoints.StateDictMismatchException">The weights do not fit the config.</exception>
    public static CLIPTextModelWithProjection FromPretrained(string folder, Checkpoints.ModelLoadOptions? options) =>
        Checkpoints.ModelLoader.FromFolder(folder, options, Recipe);

    internal static Checkpoints.ModelRecipe<CLIPTextModelWithProjection> Recipe { get; } = new("CLIP text encoder", "model.safetensors",
        (configFile, limits) =>
        {
            var config = CLIPTextConfig.FromFile(configFile, limits);
            return () => new CLIPTextModelWithProjection(config, limits);
        }, IgnoreKey: key => ClipCheckpoint.IsForeignToText(key, withProjection: true),
        PickleTwin: "pytorch_model.bin", PickleWithoutLoaderIsNotFound: true);

    /// <summary>The projected text embeddings [B, projection_dim] for token ids [B, S].</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var output = Encode(inputIds);
        return output.TextEmbeds!.alias();
    }

    /// <summary>Runs the encoder and the projection; see <see cref="CLIPTextModel.Encode"/>.</summary>
    /// <exception cref="ArgumentException">The ids or mask have the wrong shape, type or values.</exception>
    public CLIPTextModelOutput Encode(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false) =>
        ClipTextRunner.Run(text_model, Config, text_projection, inputIds, attentionMask, outputHiddenStates);
}
