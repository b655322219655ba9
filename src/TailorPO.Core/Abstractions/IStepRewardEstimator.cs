using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// The step-wise reward r_t(c, x_t) ~= r(c, D(x0_hat(x_t))) of TailorPO (Eq. 7 and 12): the
/// reward of the predicted clean sample. The sampler supplies x0_hat (from the UNet evaluation
/// it reuses for the next step), so the estimator spends no extra UNet call.
/// </summary>
public interface IStepRewardEstimator
{
    /// <summary>The reward model behind the estimate.</summary>
    IRewardModel Reward { get; }

    /// <summary>Estimates the step reward of noisy samples from their predicted clean latents.</summary>
    /// <param name="predictedOriginal">x0_hat, shape [B, C, h, w]. Gradients flow through when it requires grad.</param>
    /// <param name="prompts">The B prompts.</param>
    /// <returns>Step rewards, shape [B].</returns>
    Tensor Estimate(Tensor predictedOriginal, IReadOnlyList<string> prompts);
}
