using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// The denoising network eps_theta(x_t, t, c): predicts the noise in x_t.
/// A UNet wrapper implements it; classifier-free guidance is applied on top of it by
/// <c>TailorPO.Core.Sampling.ClassifierFreeGuidance</c>, so implementations evaluate the raw model only.
/// </summary>
public interface INoisePredictor
{
    /// <summary>Predicts the noise.</summary>
    /// <param name="latents">Noisy latents x_t, shape [B, C, H, W].</param>
    /// <param name="timesteps">Timesteps, shape [B] (int64 or float32), or a 0-d tensor for all.</param>
    /// <param name="encoderHiddenStates">Text conditioning, shape [B, L, D].</param>
    /// <returns>The predicted noise, same shape as <paramref name="latents"/>.</returns>
    Tensor PredictNoise(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates);
}
