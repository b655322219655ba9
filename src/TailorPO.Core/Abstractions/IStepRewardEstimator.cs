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

    /// <summary>
    /// Step rewards of the K candidates x_{t-1} that <paramref name="sampler"/> drew at <paramref name="stepIndex"/>:
    /// x0_hat of each candidate at its own noise level t' (<see cref="ISampler.CandidateTimestep"/>) with ONE batched
    /// noise-prediction call (the sampling CFG), then decoded and scored in one call; at the last step the candidates
    /// ARE x_0 and are scored directly. This is the one place the rule "x0_hat at t', or the sample itself at the end"
    /// lives; trainers and TailorPO-G's refiner both use it. Differentiable when <paramref name="candidates"/> requires grad.
    /// </summary>
    /// <param name="sampler">The sampler that drew the candidates.</param>
    /// <param name="candidates">x_{t-1} candidates, [K, B, C, h, w].</param>
    /// <param name="stepIndex">The step index of x_t (the step that drew them).</param>
    /// <param name="condition">The batch's condition (B prompts); it is repeated for the K candidates.</param>
    CandidateStepRewards ScoreCandidates(ISampler sampler, Tensor candidates, int stepIndex, DiffusionCondition condition);
}
