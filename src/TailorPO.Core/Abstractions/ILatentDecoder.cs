using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// D in r(c, D(x0_hat)): turns (predicted) clean latents into images in [0, 1].
/// The VAE decoder implements it for latent diffusion; pixel-space models use an identity.
/// </summary>
public interface ILatentDecoder
{
    /// <summary>Decodes latents to RGB images.</summary>
    /// <param name="latents">Clean latents (unscaled, as the UNet sees them), shape [B, C, h, w].</param>
    /// <returns>Images in [0, 1], shape [B, 3, H, W]; differentiable when the input requires grad.</returns>
    Tensor DecodeToImages(Tensor latents);
}
