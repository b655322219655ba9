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
}
