using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// <see cref="INoisePredictor"/> over a <see cref="UNet2DConditionModel"/>: casts the latents and text
/// embeddings to the UNet's dtype and device and the prediction back to the latents' dtype and
/// device, so an fp16/bf16 UNet works with float32 latents. Does not own the UNet.
/// </summary>
public sealed class UNetNoisePredictor : INoisePredictor
{
    /// <summary>Wraps <paramref name="unet"/>.</summary>
    /// <param name="unet">The denoising network.</param>
    /// <param name="checkFinite">
    /// Check every prediction for NaN/infinity and throw <see cref="NonFiniteValueException"/> (default
    /// false). The check reads a flag back to the host on every call - on a GPU a full synchronisation
    /// per UNet call - so training loops should rather check what a step produced once, with
    /// <see cref="NonFiniteValueException.ThrowIfAnyNonFinite"/>. Non-finite predictions surface anyway
    /// in the DDIM log-probabilities and the losses, which check their results.
    /// </param>
    public UNetNoisePredictor(UNet2DConditionModel unet, bool checkFinite = false)
    {
        UNet = unet ?? throw new ArgumentNullException(nameof(unet));
        CheckFinite = checkFinite;
    }

    /// <summary>The wrapped UNet.</summary>
    public UNet2DConditionModel UNet { get; }

    /// <summary>Whether every prediction is checked for NaN/inf (one host read per call).</summary>
    public bool CheckFinite { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Shapes or dtypes do not fit the UNet.</exception>
    /// <exception cref="NonFiniteValueException">The prediction holds NaN or infinity (only with <see cref="CheckFinite"/>).</exception>
    public Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        if (!latents.is_floating_point())
            throw new ArgumentException($"latents must be a floating-point tensor; got {latents.dtype}.", nameof(latents));
        if (!encoderHiddenStates.is_floating_point())
            throw new ArgumentException($"encoderHiddenStates must be a floating-point tensor; got {encoderHiddenStates.dtype}.", nameof(encoderHiddenStates));

        using var scope = NewDisposeScope();
        var dtype = UNet.DType;
        var device = UNet.Device;
        var x = latents.to(dtype, device);
        var context = encoderHiddenStates.to(dtype, device);
        var t = timesteps.device == device ? timesteps : timesteps.to(device);
        var eps = UNet.call(x, t, context);
        if (eps.dtype != latents.dtype || eps.device != latents.device) eps = eps.to(latents.dtype, latents.device);
        if (CheckFinite)
            NonFiniteValueException.ThrowIfNonFinite(eps, $"the UNet's noise prediction (UNet dtype {dtype})");
        return eps.MoveToOuterDisposeScope();
    }
}
