using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The CLIP text encoder as transformers' <c>CLIPTextModel</c> (SD v1.5's <c>text_encoder/</c>):
/// state-dict keys <c>text_model.*</c>, causal self-attention, last hidden state and pooled
/// output at the end-of-text position. Loads transformers 4.33 folders unchanged.
/// </summary>
public sealed class CLIPTextModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPTextTransformer text_model;
#pragma warning restore IDE1006

    /// <summary>Builds a randomly initialised model (float32, CPU).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="limits">The size limits the config must respect (default <see cref="Checkpoints.ModelSizeLimits.Default"/>); checked before anything is allocated.</param>
    /// <exception cref="Checkpoints.ModelConfigException">The config describes no buildable model, or one too big.</exception>
    public CLIPTextModel(CLIPTextConfig config, Checkpoints.ModelSizeLimits? limits = null) : base(nameof(CLIPTextModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(limits: limits);
        Config = config;
        text_model = new CLIPTextTransformer(config);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public CLIPTextConfig Config { get; }

    /// <summary>
    /// Loads a transformers folder: <c>config.json</c> (a CLIPTextConfig, or a CLIPConfig whose
    /// text tower is taken) and <c>model.safetensors</c> (any float dtype; a real file's
    /// <c>position_ids</c> buffer and a CLIPModel file's vision tower are skipped).
    /// </summary>
    /// <param name="folder">The model folder, e.g. <c>&lt;sd-v1-5&gt;/text_encoder</c>.</param>
    /// <param name="dtype">Weight dtype (Float32, Float16, BFloat16); null keeps Float32.</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="variant">Weight file variant, e.g. "fp16" for <c>model.fp16.safetensors</c>.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="Checkpoints.ModelConfigException">The config is malformed or unsupported.</exception>
    /// <exception cref="Checkpoints.StateDictMismatchException">The weights do not fit the config.</exception>
    public static CLIPTextModel FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string? variant = null)
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
    public static CLIPTextModel FromPretrained(string folder, Checkpoints.ModelLoadOptions? options) =>
        Checkpoints.ModelLoader.FromFolder(folder, options, Recipe);

    internal static Checkpoints.ModelRecipe<CLIPTextModel> Recipe { get; } = new("CLIP text encoder", "model.safetensors",
        (configFile, limits) =>
        {
            var config = CLIPTextConfig.FromFile(configFile, limits);
            return () => new CLIPTextModel(config, limits);
        }, IgnoreKey: key => ClipCheckpoint.IsForeignToText(key, withProjection: false),
        PickleTwin: "pytorch_model.bin", PickleWithoutLoaderIsNotFound: true);

    /// <summary>The last hidden state [B, S, C] for token ids [B, S]: SD's text conditioning.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var output = Encode(inputIds);
        return output.LastHiddenState.alias();
    }

    /// <summary>Runs the encoder.</summary>
    /// <param name="inputIds">Token ids [B, S], integer, S &lt;= max_position_embeddings.</param>
    /// <param name="attentionMask">
    /// Optional [B, S] with 1 for tokens and 0 for padding. SD v1.5 passes none (padding then
    /// influences nothing before it, because attention is causal).
    /// </param>
    /// <param name="outputHiddenStates">Also return the embeddings and every layer's output.</param>
    /// <exception cref="ArgumentException">The ids or mask have the wrong shape, type or values.</exception>
    public CLIPTextModelOutput Encode(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false) =>
        ClipTextRunner.Run(text_model, Config, null, inputIds, attentionMask, outputHiddenStates);

    /// <summary>The position each row is pooled at (transformers 4.33's end-of-text rule), [B] int64.</summary>
    public Tensor PoolingPositions(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var ids = ClipInputs.TokenIds(inputIds, Config, ClipTextRunner.DeviceOf(this), nameof(inputIds));
        return text_model.PoolingPositions(ids).MoveToOuterDisposeScope();
    }
}
