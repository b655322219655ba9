using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Step rewards of K candidates x_{t-1} per batch element, from <see cref="IStepRewardEstimator.ScoreCandidates"/>.
/// Tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Rewards">r_t(c, x^k_{t-1}) = r(c, D(x0_hat(x^k_{t-1}))), shape [K, B].</param>
/// <param name="PredictedOriginals">x0_hat of each candidate at its own noise level t' (the candidates themselves
/// at the last step), [K, B, C, h, w].</param>
/// <param name="NoisePredictions">The CFG-combined eps of each candidate at the NEXT inference step, [K, B, C, h, w]:
/// pass the chosen candidate's as the next step's <c>noisePrediction</c> so no model call is spent twice. Null at
/// the last step, and when t' is not the next inference timestep (linspace spacing), where it cannot be reused.</param>
/// <param name="NextStepIndex">The step index whose sampling can reuse <see cref="NoisePredictions"/>, or null.</param>
public sealed record CandidateStepRewards(
    Tensor Rewards,
    Tensor PredictedOriginals,
    Tensor? NoisePredictions,
    int? NextStepIndex);
