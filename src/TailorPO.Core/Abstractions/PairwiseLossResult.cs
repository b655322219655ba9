using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>A pairwise loss value with the diagnostics trainers log.</summary>
/// <param name="Loss">The scalar loss (0-d tensor, differentiable).</param>
/// <param name="Diagnostics">Detached summary statistics.</param>
public sealed record PairwiseLossResult(Tensor Loss, PairwiseLossDiagnostics Diagnostics);

/// <summary>Detached statistics of one loss evaluation.</summary>
/// <param name="Loss">The loss value.</param>
/// <param name="ImplicitAccuracy">Fraction of pairs with h_w &gt; h_l (after any clamping).</param>
/// <param name="MeanPreferredLogRatio">Mean h_w over the batch.</param>
/// <param name="MeanDispreferredLogRatio">Mean h_l over the batch.</param>
/// <param name="ClampedFraction">Fraction of log-ratios the loss clamped (D3PO's ratio clamp); 0 for losses that do not clamp.</param>
public sealed record PairwiseLossDiagnostics(
    double Loss,
    double ImplicitAccuracy,
    double MeanPreferredLogRatio,
    double MeanDispreferredLogRatio,
    double ClampedFraction)
{
    /// <summary>
    /// Fraction of pairs whose two rewards tied, so neither response is preferred; such pairs
    /// contribute a constant log 2 and no gradient (the d3po convention). 0 for losses given ranked pairs.
    /// </summary>
    public double TiedFraction { get; init; }

    /// <summary>Mean of h_w - h_l.</summary>
    public double MeanLogRatioMargin => MeanPreferredLogRatio - MeanDispreferredLogRatio;
}
