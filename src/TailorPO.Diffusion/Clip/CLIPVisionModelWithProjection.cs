using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The CLIP image encoder as transformers' <c>CLIPVisionModelWithProjection</c>: state-dict keys
/// <c>vision_model.*</c> and <c>visual_projection.weight</c>; image embeddings =
/// <c>visual_projection(post_layernorm(last_hidden_state[:, 0]))</c>, the same as
/// <c>CLIPModel.get_image_features</c>. Also loads the vision half of a full CLIPModel folder.
/// Differentiable with respect to the pixels (reward gradients flow through it).
/// </summary>
public sealed class CLIPVisionModelWithProjection : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPVisionTransformer vision_model;
    private readonly Linear visual_projection;
#pragma warning restore IDE1006

    /// <summary>Builds a randomly initialised model (float32, CPU).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="limits">The size limits the config must respect (default <see cref="Checkpoints.ModelSizeLimits.Default"/>); checked before anything is allocated.</param>
    /// <exception cref="Checkpoints.ModelConfigException">The config describes no buildable model, or one too big.</exception>
    public CLIPVisionModelWithProjection(CLIPVisionConfig config, Checkpoints.ModelSizeLimits? limits = null) : base(nameof(CLIPVisionModelWithProjection))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(limits: limits);
        Config = config;
        vision_model = new CLIPVisionTransformer(config);
        visual_projection = Layers.Linear(config.HiddenSize, config.ProjectionDim, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public CLIPVisionConfig Config { get; }

    /// <summary>
    /// Loads a transformers folder: <c>config.json</c> (a CLIPVisionConfig, or a CLIPConfig whose
    /// vision tower is taken) and <c>model.safetensors</c> (any float dtype; a real file's
    /// <c>position_ids</c> buffers and a CLIPModel file's text tower are skipped).
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="dtype">Weight dtype (Float32, Float16, BFloat16); null keeps Float32.</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="variant">Weight file variant, e.g. "fp16" for <c>model.fp16.safetensors</c>.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="Checkpoints.ModelConfigException">The config is malformed or unsupported.</exception>
    /// <exception cref="Checkpoints.StateDictMismatchException">The weights do not fit the config.</exception>
    public static CLIPVisionModelWithProjection FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string? variant = null)
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
    public static CLIPVisionModelWithProjection FromPretrained(string folder, Checkpoints.ModelLoadOptions? options) =>
        Checkpoints.ModelLoader.FromFolder(folder, options, Recipe);

    internal static Checkpoints.ModelRecipe<CLIPVisionModelWithProjection> Recipe { get; } = new("CLIP vision encoder", "model.safetensors",
        (configFile, limits) =>
        {
            var config = CLIPVisionConfig.FromFile(configFile, limits);
            return () => new CLIPVisionModelWithProjection(config, limits);
        }, IgnoreKey: ClipCheckpoint.IsForeignToVision,
        PickleTwin: "pytorch_model.bin", PickleWithoutLoaderIsNotFound: true);

    /// <summary>The image embeddings [B, projection_dim] for normalised pixel values [B, C, H, W].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var output = Encode(pixelValues);
        return output.ImageEmbeds.alias();
    }

    /// <summary>Runs the vision tower and the projection.</summary>
    /// <param name="pixelValues">
    /// [B, num_channels, image_size, image_size], already resized, cropped and normalised with
    /// CLIP's mean/std; cast to the weights' dtype here.
    /// </param>
    /// <param name="outputHiddenStates">Also return the encoder input and every layer's output.</param>
    /// <exception cref="ArgumentException">The pixel values have the wrong shape or type.</exception>
    public CLIPVisionModelOutput Encode(Tensor pixelValues, bool outputHiddenStates = false)
    {
        using var scope = NewDisposeScope();
        var pixels = ClipInputs.PixelValues(pixelValues, Config, ClipTextRunner.DTypeOf(this), ClipTextRunner.DeviceOf(this), nameof(pixelValues));
        var hiddenStates = outputHiddenStates ? new List<Tensor>() : null;
        var (last, pooled) = vision_model.Forward(pixels, hiddenStates);
        var embeds = visual_projection.forward(pooled);

        embeds.MoveToOuterDisposeScope();
        last.MoveToOuterDisposeScope();
        pooled.MoveToOuterDisposeScope();
        foreach (var state in hiddenStates ?? []) state.MoveToOuterDisposeScope();
        return new CLIPVisionModelOutput(embeds, last, pooled, hiddenStates ?? []);
    }
}
