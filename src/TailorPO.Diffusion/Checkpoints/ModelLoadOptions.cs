using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// The options every model loader takes (UNet, VAE, CLIP text and vision, and the pipeline for each
/// of its parts): where the weights go, which file variant is read, how checkpoint files may be read,
/// and how big a model a config may describe.
/// </summary>
public sealed record ModelLoadOptions
{
    /// <summary>The default options: float32 on the CPU, the plain weight file, no pickle, default limits.</summary>
    public static ModelLoadOptions Default { get; } = new();

    /// <summary>
    /// dtype of the weights (default float32); the file's values are converted on copy. The parameters are
    /// created in this dtype and on <see cref="Device"/> directly, uninitialised until the file writes them (no
    /// random initialisation, no float32 copy first), so a float16 load peaks near the float16 size.
    /// </summary>
    public ScalarType? DType { get; init; }

    /// <summary>Device of the weights (default CPU).</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// Weight file variant, e.g. "fp16" for <c>diffusion_pytorch_model.fp16.safetensors</c>. Null reads the
    /// plain file only: no loader falls back to a variant it was not asked for.
    /// </summary>
    public string? Variant { get; init; }

    /// <summary>How checkpoint files may be read (the pickle opt-in); null refuses pickle files.</summary>
    public CheckpointReadOptions? ReadOptions { get; init; }

    /// <summary>How big a model a config may describe.</summary>
    public ModelSizeLimits Limits { get; init; } = ModelSizeLimits.Default;

    /// <summary>
    /// Where the loaders report what they loaded (file, tensor and parameter counts, dtype, device, time) at
    /// Information level and which checkpoint keys they converted (legacy names, reshaped kernels); null logs nothing.
    /// A factory rather than an <c>ILogger&lt;T&gt;</c> because the loaders are static: each logs under its own category.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">The dtype is not a floating-point type, the variant is not a plain name, or a limit is not positive.</exception>
    public void Validate()
    {
        if (DType is { } dtype && dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
            throw new ArgumentException($"ModelLoadOptions.DType must be Float32, Float16, BFloat16 or Float64; got {dtype}.", nameof(DType));
        if (Variant is not null && (Variant.Length == 0 || Variant.IndexOfAny(['/', '\\', '.']) >= 0 || Variant.Trim() != Variant))
            throw new ArgumentException($"ModelLoadOptions.Variant must be a plain name such as \"fp16\"; got '{Variant}'.", nameof(Variant));
        ArgumentNullException.ThrowIfNull(Limits, nameof(Limits));
        Limits.Validate();
    }

    /// <summary>The weight file name for a base name such as <c>diffusion_pytorch_model.safetensors</c>: the variant goes before the extension.</summary>
    public string WeightFileName(string baseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        if (Variant is null) return baseName;
        var extension = Path.GetExtension(baseName);
        return $"{baseName[..^extension.Length]}.{Variant}{extension}";
    }
}
