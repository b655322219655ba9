using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// D in the step-wise reward r(c, D(x0_hat)): turns the UNet's latents into RGB images in
/// [0, 1] exactly as final images are made, <c>clamp((vae.Decode(z / scaling_factor [+ shift]) + 1) / 2, 0, 1)</c>,
/// returned as float32 whatever the VAE's dtype. Differentiable (the clamp passes no gradient
/// to saturated pixels), so reward gradients reach the latents.
/// </summary>
public sealed class VaeLatentDecoder : ILatentDecoder
{
    private readonly AutoencoderKL _vae;

    /// <summary>Wraps a loaded VAE (not owned: dispose it yourself).</summary>
    public VaeLatentDecoder(AutoencoderKL vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        _vae = vae;
    }

    /// <summary>The wrapped VAE.</summary>
    public AutoencoderKL Vae => _vae;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The latents are not [B, latent_channels, h, w] floats.</exception>
    /// <exception cref="Core.Errors.NonFiniteValueException">The latents hold NaN or infinity.</exception>
    public Tensor DecodeToImages(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (!latents.is_floating_point())
            throw new ArgumentException($"latents must be a floating-point tensor; got {latents.dtype}.", nameof(latents));
        using var scope = NewDisposeScope();
        var unscaled = latents / _vae.ScalingFactor;
        if (_vae.Config.ShiftFactor is { } shift && shift != 0) unscaled = unscaled + shift;
        var decoded = _vae.Decode(unscaled);
        var images = ((decoded.to(ScalarType.Float32) + 1.0) / 2.0).clamp(0.0, 1.0);
        return images.MoveToOuterDisposeScope();
    }
}
