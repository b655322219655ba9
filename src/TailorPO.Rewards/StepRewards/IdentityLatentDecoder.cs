using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.StepRewards;

/// <summary>
/// The decoder D of a pixel-space diffusion model (and of tests): the "latents" are the RGB image.
/// With <see cref="PixelValueRange.MinusOneToOne"/> (default) it returns <c>clamp((x + 1) / 2, 0, 1)</c>,
/// exactly what the VAE path returns after decoding, so step rewards and final rewards share one
/// scale; with <see cref="PixelValueRange.ZeroToOne"/> it returns <c>clamp(x, 0, 1)</c>.
/// </summary>
/// <remarks>
/// The clamp can be switched off (<c>clamp: false</c>) for an exact identity; a reward then rejects
/// values outside [0, 1]. With the clamp on, pixels outside the range get no gradient (as with the
/// VAE path).
/// </remarks>
public sealed class IdentityLatentDecoder : ILatentDecoder
{
    /// <summary>Creates the decoder.</summary>
    /// <param name="inputRange">The range of the samples; default [-1, 1].</param>
    /// <param name="clamp">Clamp the images to [0, 1]; default true.</param>
    public IdentityLatentDecoder(PixelValueRange inputRange = PixelValueRange.MinusOneToOne, bool clamp = true)
    {
        if (!Enum.IsDefined(inputRange))
            throw new ArgumentOutOfRangeException(nameof(inputRange), inputRange, "Unknown pixel value range.");
        InputRange = inputRange;
        Clamp = clamp;
    }

    /// <summary>The range of the samples.</summary>
    public PixelValueRange InputRange { get; }

    /// <summary>Whether the images are clamped to [0, 1].</summary>
    public bool Clamp { get; }

    /// <summary>Maps pixel-space samples [B, 3, H, W] to images in [0, 1] (differentiable).</summary>
    /// <exception cref="ArgumentException">The samples are not [B, 3, H, W] floating-point.</exception>
    public Tensor DecodeToImages(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.dim() != 4 || latents.shape[1] != 3)
            throw new ArgumentException(
                $"latents has shape [{string.Join(", ", latents.shape)}]; a pixel-space decoder expects RGB samples [B, 3, H, W].",
                nameof(latents));
        if (!latents.is_floating_point())
            throw new ArgumentException($"latents has dtype {latents.dtype}; expected a floating-point tensor.", nameof(latents));
        using var scope = NewDisposeScope();
        var images = InputRange == PixelValueRange.MinusOneToOne ? (latents + 1) * 0.5 : latents.alias();
        return (Clamp ? images.clamp(0, 1) : images).MoveToOuterDisposeScope();
    }
}
