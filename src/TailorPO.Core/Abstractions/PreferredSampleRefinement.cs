using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>The outcome of <see cref="IPreferredSampleRefiner.Refine"/>. Tensors are detached and belong to the caller's dispose scope.</summary>
/// <param name="Sample">The sample that continues the trajectory and enters the loss, [B, C, h, w]: per batch
/// element x^+ when it was accepted, x^w otherwise.</param>
/// <param name="NextNoisePrediction">The CFG-combined eps of <see cref="Sample"/> at the next step index (reuse it as the
/// next step's <c>noisePrediction</c>), or null - at the last step, or when the refiner evaluated nothing (then the
/// candidate's own prediction from the step-reward estimate is still valid).</param>
/// <param name="Report">What the guidance step did, or null when no guidance ran.</param>
public sealed record PreferredSampleRefinement(Tensor Sample, Tensor? NextNoisePrediction, GuidanceStepReport? Report);
