using Microsoft.Extensions.Logging;
using TailorPO.Diffusion.Checkpoints;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>How <see cref="StableDiffusionPipeline.FromPretrained"/> places the weights.</summary>
public sealed class StableDiffusionLoadOptions
{
    /// <summary>
    /// dtype of the UNet and text encoder weights (default float32). Float16/BFloat16 halve memory on GPUs;
    /// on CPU float32 is the fast path.
    /// </summary>
    public ScalarType DType { get; set; } = ScalarType.Float32;

    /// <summary>
    /// dtype of the VAE. Default float32: SD v1.5's VAE overflows in float16 (diffusers' force_upcast).
    /// </summary>
    public ScalarType VaeDType { get; set; } = ScalarType.Float32;

    /// <summary>Device for every part (default CPU; e.g. <c>torch.CUDA</c> with a CUDA backend package).</summary>
    public Device? Device { get; set; }

    /// <summary>Weight file variant of every part, e.g. "fp16" (null: the plain files; no variant is substituted).</summary>
    public string? Variant { get; set; }

    /// <summary>How checkpoint files may be read (the pickle opt-in); null refuses pickle files.</summary>
    public CheckpointReadOptions? ReadOptions { get; set; }

    /// <summary>How big each part's config may be, and the longest training schedule accepted.</summary>
    public ModelSizeLimits Limits { get; set; } = ModelSizeLimits.Default;

    /// <summary>Where the pipeline and each part's loader report what they loaded and converted; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The options one part is loaded with (every loader takes the same <see cref="ModelLoadOptions"/>).</summary>
    /// <param name="dtype">The part's dtype (<see cref="DType"/> or <see cref="VaeDType"/>).</param>
    public ModelLoadOptions ForPart(ScalarType dtype) =>
        new() { DType = dtype, Device = Device, Variant = Variant, ReadOptions = ReadOptions, Limits = Limits, LoggerFactory = LoggerFactory };
}
