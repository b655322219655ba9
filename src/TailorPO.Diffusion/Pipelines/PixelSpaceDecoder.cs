using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Pipelines;

/// <summary>
/// D of a pixel-space model (a pipeline folder without a VAE): the UNet's samples ARE the RGB image in
/// [-1, 1], so images are <c>clamp((x + 1) / 2, 0, 1)</c> - the same mapping the VAE path applies after
/// decoding, so step rewards and final rewards share one scale. Differentiable (saturated pixels
/// pass no gradient, as with the VAE path). Returned as float32.
/// </summary>
public sealed class PixelSpaceDecoder : ILatentDecoder
{
    /// <inheritdoc />
    /// <exception cref="ArgumentException">The samples are not floating-point RGB [B, 3, H, W].</exception>
    public Tensor DecodeToImages(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.dim() != 4 || latents.shape[1] != 3)
            throw new ArgumentException(
                $"latents has shape [{string.Join(", ", latents.shape)}]; a pixel-space model's samples are RGB images [B, 3, H, W].",
                nameof(latents));
        if (!latents.is_floating_point())
            throw new ArgumentException($"latents has dtype {latents.dtype}; expected a floating-point tensor.", nameof(latents));
        using var scope = NewDisposeScope();
        return ((latents.to(ScalarType.Float32) + 1.0) * 0.5).clamp(0.0, 1.0).MoveToOuterDisposeScope();
    }
}
