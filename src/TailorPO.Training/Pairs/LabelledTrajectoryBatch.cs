using static TorchSharp.torch;

namespace TailorPO.Training.Pairs;

/// <summary>
/// Labelled trajectory pairs as tensors (the caller owns them). S is the step count; latents[:, s] is x at step s
/// (latents[:, 0] = x_T, latents[:, S] = x_0) and log_probs[:, s] = log p(latents[:, s + 1] | latents[:, s]) when sampled.
/// </summary>
/// <param name="Prompts">The pairs' prompts, [n].</param>
/// <param name="PreferredLatents">The preferred trajectories, [n, S + 1, C, H, W], float32.</param>
/// <param name="PreferredLogProbabilities">Their element-mean step log-probabilities, [n, S], float32.</param>
/// <param name="DispreferredLatents">The dis-preferred trajectories, [n, S + 1, C, H, W], float32.</param>
/// <param name="DispreferredLogProbabilities">Their step log-probabilities, [n, S], float32.</param>
public sealed record LabelledTrajectoryBatch(IReadOnlyList<string> Prompts, Tensor PreferredLatents, Tensor PreferredLogProbabilities,
    Tensor DispreferredLatents, Tensor DispreferredLogProbabilities);
