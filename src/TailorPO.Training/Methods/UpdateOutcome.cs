using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>A loss to back-propagate, with its statistics and signals (all in the step's dispose scope).</summary>
/// <param name="Loss">The scalar loss (differentiable with respect to the adapter parameters).</param>
/// <param name="Statistics">The pairwise-loss statistics, or null for a non-pairwise objective (DDPO).</param>
/// <param name="Signals">Extra per-update signals.</param>
public sealed record UpdateOutcome(Tensor Loss, PairwiseLossStatistics? Statistics, UpdateSignals Signals);
