using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>A pairwise loss value with the diagnostics trainers log.</summary>
/// <param name="Loss">The scalar loss (0-d tensor, differentiable).</param>
/// <param name="Statistics">The detached diagnostics as one device tensor (no host read until asked).</param>
public sealed record PairwiseLossResult(Tensor Loss, PairwiseLossStatistics Statistics)
{
    /// <summary>The diagnostics as numbers: ONE device-to-host read on first access, then cached.</summary>
    public PairwiseLossDiagnostics Diagnostics => Statistics.Read();
}

/// <summary>
/// The diagnostics of one loss evaluation kept on the loss's device, so a training step on a GPU does not
/// synchronise for them; <see cref="Read"/> copies all of them to the host at once. The tensor belongs to
/// the caller's dispose scope, like the loss.
/// </summary>
/// <remarks>
/// The library's losses compute the vector on first access to <see cref="Values"/> (or <see cref="Read"/>), from the
/// log-ratios they were given: a step that never looks at its diagnostics does not pay the handful of small kernels
/// they take, which on a small batch cost more than the loss itself. Read them while the loss's inputs are alive
/// (in the dispose scope that holds them); the vector then lives in the scope current at that first access.
/// </remarks>
public sealed class PairwiseLossStatistics
{
    /// <summary>The number of values in <see cref="Values"/>.</summary>
    public const int Length = 6;

    private Func<Tensor>? _compute;
    private Tensor? _values;
    private PairwiseLossDiagnostics? _read;

    /// <summary>Wraps the statistics vector.</summary>
    /// <param name="values">float64 [6]: loss, implicit accuracy, mean h_w, mean h_l, clamped fraction, tied fraction.</param>
    /// <exception cref="ArgumentException">The tensor is not a 6-vector.</exception>
    public PairwiseLossStatistics(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = Checked(values);
    }

    /// <summary>Statistics computed on first access by <paramref name="compute"/> (which must return the [6] vector).</summary>
    internal PairwiseLossStatistics(Func<Tensor> compute)
    {
        _compute = compute;
    }

    /// <summary>float64 [6]: loss, implicit accuracy, mean h_w, mean h_l, clamped fraction, tied fraction (detached).</summary>
    /// <exception cref="ObjectDisposedException">Computed lazily after the loss's inputs were disposed.</exception>
    public Tensor Values
    {
        get
        {
            if (_values is null)
            {
                _values = Checked(_compute!());
                _compute = null; // drops the references to the inputs
            }
            return _values;
        }
    }

    private static Tensor Checked(Tensor values)
    {
        if (values.dim() != 1 || values.shape[0] != Length)
            throw new ArgumentException($"Loss statistics must be a [{Length}] vector; got [{string.Join(", ", values.shape)}].", nameof(values));
        return values;
    }

    /// <summary>Copies the statistics to the host (one read, cached).</summary>
    public PairwiseLossDiagnostics Read()
    {
        if (_read is not null) return _read;
        var v = Values.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        _read = new PairwiseLossDiagnostics(v[0], v[1], v[2], v[3], v[4]) { TiedFraction = v[5] };
        return _read;
    }
}

/// <summary>Detached statistics of one loss evaluation.</summary>
/// <param name="Loss">The loss value.</param>
/// <param name="ImplicitAccuracy">Fraction of decided (untied) pairs with h_w &gt; h_l, read from the unclamped log-ratios (the implicit reward beta h; a clamp limits the loss, not the ranking); 0 when every pair tied.</param>
/// <param name="MeanPreferredLogRatio">Mean h_w over the decided pairs.</param>
/// <param name="MeanDispreferredLogRatio">Mean h_l over the decided pairs.</param>
/// <param name="ClampedFraction">Fraction of log-ratios the loss clamped (D3PO's ratio clamp); 0 for losses that do not clamp.</param>
public sealed record PairwiseLossDiagnostics(
    double Loss,
    double ImplicitAccuracy,
    double MeanPreferredLogRatio,
    double MeanDispreferredLogRatio,
    double ClampedFraction)
{
    /// <summary>
    /// Fraction of pairs whose two rewards tied (weight 0), so neither response is preferred; such pairs
    /// contribute a constant log 2 and no gradient (the d3po convention). 0 when every pair is decided.
    /// </summary>
    public double TiedFraction { get; init; }

    /// <summary>Mean of h_w - h_l.</summary>
    public double MeanLogRatioMargin => MeanPreferredLogRatio - MeanDispreferredLogRatio;
}
