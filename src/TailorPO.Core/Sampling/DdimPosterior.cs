using static TorchSharp.torch;

namespace TailorPO.Core.Sampling;

/// <summary>
/// The DDIM posterior p(x_{t-1} | x_t) = N(<see cref="Mean"/>, <see cref="Sigma"/>^2 I) of one step,
/// with the quantities it was built from. Tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Timesteps">t per batch element, int64 [B].</param>
/// <param name="PreviousTimesteps">t' = t - N // n per batch element, int64 [B] (negative after the last step).</param>
/// <param name="AlphaProduct">abar_t per batch element, [B] (float32, or float64 for float64 samples).</param>
/// <param name="PreviousAlphaProduct">abar_{t'} per batch element (the final abar when t' &lt; 0), [B].</param>
/// <param name="PredictedOriginal">x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), the sample's shape and dtype.</param>
/// <param name="Sigma">sigma_t(eta) per batch element, [B] (0 when eta = 0).</param>
/// <param name="Mean">mu = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps, the sample's shape and dtype.</param>
public sealed record DdimPosterior(
    Tensor Timesteps,
    Tensor PreviousTimesteps,
    Tensor AlphaProduct,
    Tensor PreviousAlphaProduct,
    Tensor PredictedOriginal,
    Tensor Sigma,
    Tensor Mean);
