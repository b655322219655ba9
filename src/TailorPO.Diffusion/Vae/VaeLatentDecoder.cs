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
    /// <param name="vae">The VAE.</param>
    /// <param name="sliceBatch">
    /// Decode one batch element at a time (diffusers' <c>enable_slicing</c>): the same images with
    /// the peak activation memory of a single image (about 2.4 GB for SD v1.5 at 512x512 in
    /// float32 without gradients). Gradients, when requested, still keep every element's graph.
    /// </param>
    /// <param name="checkFinite">
    /// Refuse latents holding NaN/infinity with <see cref="Core.Errors.NonFiniteValueException"/>
    /// (default false). The check reads a flag back to the host on every call (a GPU
    /// synchronisation per decode), so training loops should rather check a step's tensors once with
    /// <see cref="Core.Errors.NonFiniteValueException.ThrowIfAnyNonFinite"/>. Non-finite latents
    /// decode to non-finite images, which rewards refuse.
    /// </param>
    public VaeLatentDecoder(AutoencoderKL vae, bool sliceBatch = false, bool checkFinite = false)
    {
        ArgumentNullException.ThrowIfNull(vae);
        _vae = vae;
        SliceBatch = sliceBatch;
        CheckFinite = checkFinite;
    }

    /// <summary>The wrapped VAE.</summary>
    public AutoencoderKL Vae => _vae;

    /// <summary>True when batch elements are decoded one at a time.</summary>
    public bool SliceBatch { get; }

    /// <summary>True when latents are checked for NaN/infinity before decoding (one host read per call).</summary>
    public bool CheckFinite { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The latents are not [B, latent_channels, h, w] floats.</exception>
    /// <exception cref="Core.Errors.NonFiniteValueException">The latents hold NaN or infinity (only with <see cref="CheckFinite"/>).</exception>
    public Tensor DecodeToImages(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (!latents.is_floating_point())
            throw new ArgumentException($"latents must be a floating-point tensor; got {latents.dtype}.", nameof(latents));
        if (CheckFinite) Core.Errors.NonFiniteValueException.ThrowIfNonFinite(latents, "argument 'latents'");
        using var scope = NewDisposeScope();
        var unscaled = latents / _vae.ScalingFactor;
        if (_vae.Config.ShiftFactor is { } shift && shift != 0) unscaled = unscaled + shift;
        var decoded = SliceBatch && unscaled.dim() > 0 && unscaled.shape[0] > 1
            ? cat(unscaled.split(1).Select(_vae.DecodeUnchecked).ToList(), 0)
            : _vae.DecodeUnchecked(unscaled);
        var images = ((decoded.to(ScalarType.Float32) + 1.0) / 2.0).clamp(0.0, 1.0);
        return images.MoveToOuterDisposeScope();
    }
}
