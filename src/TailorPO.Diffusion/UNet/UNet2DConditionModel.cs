using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TailorPO.Core.Threading;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// Stable Diffusion's denoising UNet, diffusers' <c>UNet2DConditionModel</c> (0.21.4) for the
/// SD v1.x / v2.x configurations: timestep embedding, <c>conv_in</c>, down blocks, a cross-attention
/// mid block, up blocks with skip connections, <c>conv_norm_out</c> + SiLU + <c>conv_out</c>.
/// State-dict keys are diffusers' own, so <c>diffusion_pytorch_model.safetensors</c> loads unchanged.
/// </summary>
public sealed class UNet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>The weight file looked for by <see cref="FromPretrained(string, ModelLoadOptions?)"/> (a variant goes before the extension).</summary>
    public const string WeightFileName = "diffusion_pytorch_model.safetensors";

#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly TimestepEmbedding time_embedding;
    private readonly Conv2dLayer conv_in;
    private readonly ModuleList<UNetDownBlock> down_blocks;
    private readonly UNetMidBlock2DCrossAttn mid_block;
    private readonly ModuleList<UNetUpBlock> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2dLayer conv_out;
#pragma warning restore IDE1006

    private readonly Func<Tensor, Tensor> _activation;
    private readonly Func<Tensor, Tensor>? _timeEmbeddingActivation;

    /// <summary>Builds the model with PyTorch-default random weights from a validated config.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="limits">The size limits the config must respect (default <see cref="ModelSizeLimits.Default"/>); checked before anything is allocated.</param>
    /// <exception cref="ModelConfigException">The config is inconsistent, unsupported or too big.</exception>
    public UNet2DConditionModel(UNet2DConditionConfig config, ModelSizeLimits? limits = null) : base(nameof(UNet2DConditionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(limits: limits);
        Config = config;
        int n = config.BlockCount;
        var channels = config.BlockOutChannels;
        long tembDim = config.TimeEmbedDim;
        _activation = Activation.Get(config.ActFn);
        _timeEmbeddingActivation = config.TimeEmbeddingActFn is null ? null : Activation.Get(config.TimeEmbeddingActFn);

        conv_in = new Conv2dLayer(config.InChannels, channels[0], config.ConvInKernel, stride: 1, padding: (config.ConvInKernel - 1) / 2);
        time_embedding = new TimestepEmbedding(channels[0], tembDim, config.ActFn, config.TimestepPostAct);

        UNetBlockSettings Settings(int block, int layers) => new(
            layers, UNet2DConditionConfig.PerBlock(config.TransformerLayersPerBlock, block), tembDim, config.NormEps,
            config.NormNumGroups, config.ActFn, config.ResnetOutScaleFactor, config.ResnetSkipTimeAct, config.ResnetTimeScaleShift,
            config.Dropout, UNet2DConditionConfig.PerBlock(config.AttentionHeadDim, block),
            UNet2DConditionConfig.PerBlock(config.CrossAttentionDim, block), config.UseLinearProjection, config.UpcastAttention,
            config.DownsamplePadding);

        var downs = new List<UNetDownBlock>();
        long output = channels[0];
        for (int i = 0; i < n; i++)
        {
            long input = output;
            output = channels[i];
            bool final = i == n - 1;
            var s = Settings(i, UNet2DConditionConfig.PerBlock(config.LayersPerBlock, i));
            downs.Add(config.DownBlockTypes[i] == "CrossAttnDownBlock2D"
                ? new CrossAttnDownBlock2D(s, input, output, addDownsample: !final)
                : new DownBlock2D(s, input, output, addDownsample: !final));
            if (SkipInitScope.Current is null) ReleaseConstructionGarbage();
        }
        down_blocks = new ModuleList<UNetDownBlock>(downs.ToArray());

        var mid = Settings(n - 1, 1) with { ResnetOutputScaleFactor = config.MidBlockScaleFactor };
        mid_block = new UNetMidBlock2DCrossAttn(mid, channels[n - 1]);

        // Up blocks walk the resolutions deepest first; per-block knobs are taken reversed.
        var ups = new List<UNetUpBlock>();
        output = channels[n - 1];
        for (int i = 0; i < n; i++)
        {
            int reversed = n - 1 - i;
            bool final = i == n - 1;
            long previous = output;
            output = channels[reversed];
            long input = channels[Math.Max(reversed - 1, 0)];
            var s = Settings(reversed, UNet2DConditionConfig.PerBlock(config.LayersPerBlock, reversed) + 1);
            ups.Add(config.UpBlockTypes[i] == "CrossAttnUpBlock2D"
                ? new CrossAttnUpBlock2D(s, input, previous, output, addUpsample: !final)
                : new UpBlock2D(s, input, previous, output, addUpsample: !final));
            if (SkipInitScope.Current is null) ReleaseConstructionGarbage();
        }
        up_blocks = new ModuleList<UNetUpBlock>(ups.ToArray());
        UpsamplerCount = ups.Count(u => u.Upsamples);

        conv_norm_out = Normalization.GroupNorm(config.NormNumGroups, channels[0], config.NormEps);
        conv_out = new Conv2dLayer(channels[0], config.OutChannels, config.ConvOutKernel, stride: 1, padding: (config.ConvOutKernel - 1) / 2);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public UNet2DConditionConfig Config { get; }

    /// <summary>
    /// The blocks' layers take PyTorch's initial values from throwaway TorchSharp modules whose tensors are
    /// freed only by their finalizers; without a collection between blocks, building SD v1.5's UNet peaked
    /// at 6.2 GB for 3.4 GB of weights (measured), with one per block at 3.8 GB. Not needed within a
    /// <see cref="SkipInitScope"/> (no templates).
    /// </summary>
    internal static void ReleaseConstructionGarbage()
    {
        GC.Collect();
        // A thread holding the FinalizerGate would wait for itself.
        if (!FinalizerGate.IsHeldByCurrentThread) GC.WaitForPendingFinalizers();
    }

    /// <summary>Number of up-sampling stages; latents not divisible by 2^this get explicit upsample sizes.</summary>
    public int UpsamplerCount { get; }

    /// <summary>The dtype of the weights (of <c>conv_in</c>).</summary>
    public ScalarType DType => conv_in.Weight.dtype;

    /// <summary>The device of the weights.</summary>
    public Device Device => conv_in.Weight.device;

    /// <summary>
    /// Recompute each resnet and transformer in the backward pass instead of storing its activations
    /// (training mode only). Saves most activation memory at the cost of about one extra forward.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => down_blocks.Any(b => b.GradientCheckpointing);
        set
        {
            foreach (var b in down_blocks) b.GradientCheckpointing = value;
            mid_block.GradientCheckpointing = value;
            foreach (var b in up_blocks) b.GradientCheckpointing = value;
        }
    }

    /// <summary>The attention layers by their module path (e.g. <c>down_blocks.0.attentions.0.transformer_blocks.0.attn1</c>).</summary>
    public IEnumerable<(string Path, Attention Attention)> AttentionModules() =>
        named_modules().Where(m => m.module is Attention).Select(m => (m.name, (Attention)m.module));

    /// <summary>
    /// Loads a diffusers UNet folder: <c>config.json</c> and <c>diffusion_pytorch_model.safetensors</c>,
    /// checking every key and shape. Shorthand for <see cref="FromPretrained(string, ModelLoadOptions?)"/>.
    /// </summary>
    /// <param name="folder">The folder (e.g. <c>&lt;model&gt;/unet</c>).</param>
    /// <param name="dtype">Weight dtype (default: float32); file values are converted.</param>
    /// <param name="device">Target device (default: CPU).</param>
    /// <param name="options">Checkpoint reading options (pickle opt-in).</param>
    /// <param name="variant">Weight file variant, e.g. "fp16" for <c>diffusion_pytorch_model.fp16.safetensors</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing (pickle-only folders are named).</exception>
    /// <exception cref="ModelConfigException">The config is unsupported or too big.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static UNet2DConditionModel FromPretrained(string folder, ScalarType? dtype = null, Device? device = null,
        CheckpointReadOptions? options = null, string? variant = null) =>
        FromPretrained(folder, new ModelLoadOptions { DType = dtype, Device = device, ReadOptions = options, Variant = variant });

    /// <summary>
    /// Loads a diffusers UNet folder: <c>config.json</c> (checked against the size limits first) and the
    /// weight file of the requested variant (no other variant is substituted), checking every key and shape.
    /// </summary>
    /// <param name="folder">The folder (e.g. <c>&lt;model&gt;/unet</c>).</param>
    /// <param name="options">dtype, device, variant, pickle opt-in and size limits.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing (pickle-only folders are named).</exception>
    /// <exception cref="ModelConfigException">The config is unsupported or too big.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static UNet2DConditionModel FromPretrained(string folder, ModelLoadOptions? options) =>
        ModelLoader.FromFolder(folder, options, Recipe);

    internal static ModelRecipe<UNet2DConditionModel> Recipe { get; } = new("UNet", WeightFileName,
        (configFile, limits) =>
        {
            var config = UNet2DConditionConfig.FromFile(configFile, limits);
            return () => new UNet2DConditionModel(config, limits);
        },
        PickleTwin: "diffusion_pytorch_model.bin");

    /// <summary>Predicts the noise: <c>unet(sample, timestep, encoder_hidden_states).sample</c>.</summary>
    /// <param name="sample">Noisy latents [B, in_channels, H, W] in the model's dtype.</param>
    /// <param name="timestep">[B], [1] or a 0-d tensor; int64 or float (used as float32, as diffusers does).</param>
    /// <param name="encoderHiddenStates">Text embeddings [B, L, cross_attention_dim].</param>
    /// <returns>[B, out_channels, H, W].</returns>
    public override Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates) =>
        Forward(sample, timestep, encoderHiddenStates, null);

    /// <summary>As <see cref="forward"/>, reporting intermediate outputs by diffusers module name (for diagnosis).</summary>
    internal Tensor Forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Action<string, Tensor>? observe)
    {
        ValidateInputs(sample, timestep, encoderHiddenStates);
        using var scope = NewDisposeScope();
        long batch = sample.shape[0];
        int factor = 1 << UpsamplerCount;
        bool explicitUpsampleSize = sample.shape[2] % factor != 0 || sample.shape[3] % factor != 0;

        var x = sample;
        if (Config.CenterInputSample) x = x * 2.0 - 1.0;

        var steps = timestep.dim() == 0 ? timestep.reshape(1) : timestep;
        steps = steps.to(x.device).expand(batch);
        var tProj = TimestepEncoding.Sinusoidal(steps, Config.BlockOutChannels[0], Config.FlipSinToCos, Config.FreqShift).to(x.dtype);
        observe?.Invoke("time_proj", tProj);
        var emb = time_embedding.call(tProj);
        observe?.Invoke("time_embedding", emb);
        if (_timeEmbeddingActivation is not null) emb = _timeEmbeddingActivation(emb);

        x = conv_in.call(x);
        observe?.Invoke("conv_in", x);

        var skips = new List<Tensor> { x };
        for (int i = 0; i < down_blocks.Count; i++)
        {
            var (output, blockSkips) = down_blocks[i].Forward(x, emb, encoderHiddenStates);
            x = output;
            skips.AddRange(blockSkips);
            observe?.Invoke($"down_blocks.{i}", x);
        }

        x = mid_block.Forward(x, emb, encoderHiddenStates);
        observe?.Invoke("mid_block", x);

        for (int i = 0; i < up_blocks.Count; i++)
        {
            var block = up_blocks[i];
            var taken = skips.GetRange(skips.Count - block.ResnetCount, block.ResnetCount);
            skips.RemoveRange(skips.Count - block.ResnetCount, block.ResnetCount);
            long[]? upsampleSize = explicitUpsampleSize && i < up_blocks.Count - 1
                ? new[] { skips[^1].shape[2], skips[^1].shape[3] }
                : null;
            x = block.Forward(x, taken, emb, encoderHiddenStates, upsampleSize);
            observe?.Invoke($"up_blocks.{i}", x);
        }

        x = conv_norm_out.call(x);
        observe?.Invoke("conv_norm_out", x);
        x = _activation(x);
        x = conv_out.call(x);
        observe?.Invoke("conv_out", x);
        return x.MoveToOuterDisposeScope();
    }

    private void ValidateInputs(Tensor sample, Tensor timestep, Tensor encoderHiddenStates)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timestep);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        if (sample.dim() != 4 || sample.shape[1] != Config.InChannels)
            throw new ArgumentException($"sample must be [B, {Config.InChannels}, H, W]; got [{string.Join(", ", sample.shape)}].", nameof(sample));
        if (sample.dtype != DType)
            throw new ArgumentException($"sample has dtype {sample.dtype} but the UNet's weights are {DType}; cast it (UNetNoisePredictor does this for you).", nameof(sample));
        long batch = sample.shape[0];
        if (timestep.dim() > 1 || (timestep.dim() == 1 && timestep.shape[0] != batch && timestep.shape[0] != 1))
            throw new ArgumentException($"timestep must be 0-d, [1] or [{batch}]; got [{string.Join(", ", timestep.shape)}].", nameof(timestep));
        if (timestep.dtype is ScalarType.Bool or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
            throw new ArgumentException($"timestep must be an integer or float tensor; got {timestep.dtype}.", nameof(timestep));
        var crossDims = Config.CrossAttentionDim.Distinct().ToList();
        if (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[0] != batch || crossDims.Count == 1 && encoderHiddenStates.shape[2] != crossDims[0])
            throw new ArgumentException(
                $"encoderHiddenStates must be [{batch}, L, {string.Join("/", crossDims)}]; got [{string.Join(", ", encoderHiddenStates.shape)}].",
                nameof(encoderHiddenStates));
        if (encoderHiddenStates.dtype != DType)
            throw new ArgumentException($"encoderHiddenStates has dtype {encoderHiddenStates.dtype} but the UNet's weights are {DType}.", nameof(encoderHiddenStates));
    }
}
