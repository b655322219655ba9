using TailorPO.Core.Errors;
using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// Stable Diffusion's KL autoencoder as diffusers' <c>AutoencoderKL</c> (SD v1.5's <c>vae/</c>):
/// state-dict keys <c>encoder.*</c>, <c>decoder.*</c>, <c>quant_conv</c>, <c>post_quant_conv</c>.
/// <see cref="Encode"/> gives the latent posterior, <see cref="Decode"/> maps latents to images in
/// about [-1, 1]; neither applies <see cref="ScalingFactor"/> (the pipeline does). Differentiable.
/// </summary>
public sealed class AutoencoderKL : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly VaeEncoder encoder;
    private readonly VaeDecoder decoder;
    private readonly Conv2dLayer? quant_conv;
    private readonly Conv2dLayer? post_quant_conv;
#pragma warning restore IDE1006

    /// <summary>Builds a randomly initialised model (float32, CPU).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="limits">The size limits the config must respect (default <see cref="ModelSizeLimits.Default"/>); checked before anything is allocated.</param>
    /// <exception cref="ModelConfigException">The config describes no buildable model, or one too big.</exception>
    public AutoencoderKL(AutoencoderKLConfig config, ModelSizeLimits? limits = null) : base(nameof(AutoencoderKL))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(limits: limits);
        Config = config;
        encoder = new VaeEncoder(config);
        decoder = new VaeDecoder(config);
        if (config.UseQuantConv) quant_conv = new Conv2dLayer(2 * config.LatentChannels, 2 * config.LatentChannels, kernelSize: 1);
        if (config.UsePostQuantConv) post_quant_conv = new Conv2dLayer(config.LatentChannels, config.LatentChannels, kernelSize: 1);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public AutoencoderKLConfig Config { get; }

    /// <summary>SD's latent scale (0.18215 in SD v1.x): the UNet sees <c>Encode(x).Sample() * ScalingFactor</c>.</summary>
    public double ScalingFactor => Config.ScalingFactor;

    /// <summary>The dtype of the weights (inputs are cast to it).</summary>
    public ScalarType DType => parameters().First().dtype;

    /// <summary>The device of the weights (inputs are moved to it).</summary>
    public Device Device => parameters().First().device;

    /// <summary>
    /// Loads a diffusers folder: <c>config.json</c> and <c>diffusion_pytorch_model.safetensors</c>
    /// (any float dtype). Legacy attention names (<c>query</c>, <c>key</c>, <c>value</c>,
    /// <c>proj_attn</c>) and 1x1-conv attention weights are converted as diffusers does.
    /// </summary>
    /// <param name="folder">The model folder, e.g. <c>&lt;sd-v1-5&gt;/vae</c>.</param>
    /// <param name="dtype">Weight dtype (Float32, Float16, BFloat16); null keeps Float32.</param>
    /// <param name="device">Target device; null keeps the CPU.</param>
    /// <param name="variant">Weight file variant, e.g. "fp16" for <c>diffusion_pytorch_model.fp16.safetensors</c>.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ModelConfigException">The config is malformed or unsupported.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static AutoencoderKL FromPretrained(string folder, ScalarType? dtype = null, Device? device = null, string? variant = null)
    {
        if (dtype is not (null or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
            throw new ArgumentException($"dtype must be Float32, Float16, BFloat16 or Float64; got {dtype}.", nameof(dtype));
        return FromPretrained(folder, new ModelLoadOptions { DType = dtype, Device = device, Variant = variant });
    }

    /// <summary>
    /// Loads a diffusers folder: <c>config.json</c> (checked against the size limits first) and the weight
    /// file of the requested variant; legacy attention names are converted as diffusers does.
    /// </summary>
    /// <param name="folder">The model folder, e.g. <c>&lt;sd-v1-5&gt;/vae</c>.</param>
    /// <param name="options">dtype, device, variant, pickle opt-in and size limits.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ModelConfigException">The config is malformed, unsupported or too big.</exception>
    /// <exception cref="StateDictMismatchException">The weights do not fit the config.</exception>
    public static AutoencoderKL FromPretrained(string folder, ModelLoadOptions? options) =>
        ModelLoader.FromFolder(folder, options, Recipe);

    internal static ModelRecipe<AutoencoderKL> Recipe { get; } = new("VAE", "diffusion_pytorch_model.safetensors",
        (configFile, limits) =>
        {
            var config = AutoencoderKLConfig.FromFile(configFile, limits);
            return () => new AutoencoderKL(config, limits);
        },
        AutoencoderKLCheckpoint.Adapt, PickleTwin: "diffusion_pytorch_model.bin");

    /// <summary>Encodes images to the latent posterior (unscaled latents).</summary>
    /// <param name="images">RGB images in [-1, 1], [B, in_channels, H, W]; cast to the weights' dtype.</param>
    /// <exception cref="ArgumentException">Wrong shape or a non-float tensor.</exception>
    /// <exception cref="NonFiniteValueException">The images hold NaN or infinity.</exception>
    public DiagonalGaussianDistribution Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = Prepare(images, Config.InChannels, nameof(images), "image");
        var moments = encoder.call(x);
        if (quant_conv is not null) moments = quant_conv.call(moments);
        var posterior = new DiagonalGaussianDistribution(moments);
        posterior.Mean.MoveToOuterDisposeScope();
        posterior.LogVar.MoveToOuterDisposeScope();
        posterior.Std.MoveToOuterDisposeScope();
        return posterior;
    }

    /// <summary>Decodes unscaled latents to images (about [-1, 1], not clamped), [B, out_channels, 8h, 8w].</summary>
    /// <param name="latents">[B, latent_channels, h, w], already divided by <see cref="ScalingFactor"/>.</param>
    /// <exception cref="ArgumentException">Wrong shape or a non-float tensor.</exception>
    /// <exception cref="NonFiniteValueException">The latents hold NaN or infinity.</exception>
    public Tensor Decode(Tensor latents) => DecodeWithDiagnostics(latents, null);

    /// <summary>
    /// <see cref="Decode"/> without the finiteness check, which reads a flag back to the host (a GPU
    /// synchronisation): for <see cref="VaeLatentDecoder"/>, which runs on every training step.
    /// </summary>
    internal Tensor DecodeUnchecked(Tensor latents) => DecodeWithDiagnostics(latents, null, checkFinite: false);

    /// <summary><see cref="Decode"/> that also hands out intermediate outputs for diagnostics.</summary>
    internal Tensor DecodeWithDiagnostics(Tensor latents, Dictionary<string, Tensor>? debug, bool checkFinite = true)
    {
        using var scope = NewDisposeScope();
        var z = Prepare(latents, Config.LatentChannels, nameof(latents), "latent", checkFinite);
        if (post_quant_conv is not null) z = post_quant_conv.call(z);
        var mid = debug is null ? null : new List<Tensor>();
        var image = decoder.Forward(z, mid);
        if (debug is not null)
        {
            debug["post_quant_conv"] = z.MoveToOuterDisposeScope();
            debug["decoder.mid_block"] = mid![0].MoveToOuterDisposeScope();
        }
        return image.MoveToOuterDisposeScope();
    }

    /// <summary>diffusers' <c>forward</c>: decode the posterior mode of the encoded images.</summary>
    public override Tensor forward(Tensor images)
    {
        using var posterior = Encode(images);
        return Decode(posterior.Mean);
    }

    private Tensor Prepare(Tensor input, long channels, string argument, string what, bool checkFinite = true)
    {
        ArgumentNullException.ThrowIfNull(input, argument);
        if (input.dim() != 4 || input.shape[1] != channels || input.shape[0] < 1 || input.shape[2] < 1 || input.shape[3] < 1)
            throw new ArgumentException(
                $"{argument} must be {what}s of shape [batch, {channels}, height, width]; got [{string.Join(", ", input.shape)}].", argument);
        if (!input.is_floating_point())
            throw new ArgumentException($"{argument} must be a floating-point tensor; got {input.dtype}.", argument);
        if (checkFinite) NonFiniteValueException.ThrowIfNonFinite(input, $"argument '{argument}'");
        return input.to(DType, Device);
    }
}
