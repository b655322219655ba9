using static TorchSharp.torch;

namespace TailorPO.Rewards.StepRewards;

/// <summary>
/// Step rewards of K candidates x_{t-1} per batch element, from
/// <see cref="StepRewardEstimator.ScoreCandidates"/>. Tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Rewards">r_t(c, x^k_{t-1}) = r(c, D(x0_hat(x^k_{t-1}))), shape [K, B].</param>
/// <param name="PredictedOriginals">x0_hat of each candidate at the next timestep (the candidates themselves at the last step), [K, B, C, h, w].</param>
/// <param name="NoisePredictions">The CFG-combined eps of each candidate at the next timestep, [K, B, C, h, w]:
/// pass the chosen candidate's as the next step's <c>noisePrediction</c> so no UNet call is spent twice.
/// Null at the last step (no next timestep).</param>
/// <param name="NextStepIndex">The sampler step index x0_hat was evaluated at, or null at the last step.</param>
public sealed record CandidateStepRewards(
    Tensor Rewards,
    Tensor PredictedOriginals,
    Tensor? NoisePredictions,
    int? NextStepIndex);
