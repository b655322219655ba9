using TailorPO.Core.Internal;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// DDPO's PPO-clip objective (kvablack/ddpo-pytorch), the policy-gradient baseline. It is not pairwise:
/// each sampled step has an advantage A (clamped to [-a, a]) and the ratio
/// r = exp(log p_new - log p_old) of its log-probability under the current and the sampling weights;
/// loss = mean(max(-A r, -A clamp(r, 1 - c, 1 + c))).
/// </summary>
public sealed class DdpoClipObjective
{
    /// <summary>Creates the objective.</summary>
    /// <param name="clipRange">c in (0, 1) (ddpo-pytorch: 1e-4).</param>
    /// <param name="advantageClip">a &gt; 0 (ddpo-pytorch: 5).</param>
    public DdpoClipObjective(double clipRange = 1e-4, double advantageClip = 5)
    {
        if (!(clipRange > 0 && clipRange < 1))
            throw new ArgumentOutOfRangeException(nameof(clipRange), clipRange, $"Argument 'clipRange' must lie in (0, 1) (ddpo-pytorch uses 1e-4); got {clipRange}.");
        TensorGuard.Positive(advantageClip, nameof(advantageClip), "the advantage clamp, ddpo-pytorch uses 5");
        ClipRange = clipRange;
        AdvantageClip = advantageClip;
    }

    /// <summary>The ratio clip range c.</summary>
    public double ClipRange { get; }

    /// <summary>The advantage clamp a.</summary>
    public double AdvantageClip { get; }

    /// <summary>Computes the clipped surrogate loss (mean over the batch) and its diagnostics.</summary>
    /// <param name="logProbability">log p_theta(x_{t-1} | x_t) under the current weights, [B] (differentiable).</param>
    /// <param name="oldLogProbability">The log-probability stored at sampling time, [B] (treated as a constant).</param>
    /// <param name="advantages">Normalised advantages, [B] (e.g. from <see cref="PerPromptStatTracker"/>); clamped here.</param>
    /// <exception cref="Errors.NonFiniteValueException">An input or the loss is NaN or infinite.</exception>
    public DdpoObjectiveResult Compute(Tensor logProbability, Tensor oldLogProbability, Tensor advantages)
    {
        LogisticPreference.CheckLogRatios(logProbability, nameof(logProbability), oldLogProbability, nameof(oldLogProbability));
        TensorGuard.Floating(advantages, nameof(advantages));
        TensorGuard.SameShape(advantages, nameof(advantages), logProbability, nameof(logProbability));
        TensorGuard.SameDevice(advantages, nameof(advantages), logProbability, nameof(logProbability));
        TensorGuard.FiniteArgument(advantages, nameof(advantages));

        using var scope = NewDisposeScope();
        var a = advantages.detach().to_type(logProbability.dtype).clamp(-AdvantageClip, AdvantageClip);
        var logRatio = logProbability - oldLogProbability.detach();
        var ratio = logRatio.exp();
        var unclipped = -a * ratio;
        var clipped = -a * ratio.clamp(1 - ClipRange, 1 + ClipRange);
        var loss = maximum(unclipped, clipped).mean();
        TensorGuard.Finite(loss, "the DDPO clipped objective");

        // The diagnostics stay on the device as one [5] vector; DdpoObjectiveResult.Diagnostics reads it on demand.
        using var noGrad = no_grad();
        var r = ratio.detach().to_type(ScalarType.Float64);
        var statistics = stack([
            loss.detach().to_type(ScalarType.Float64),
            ((r - 1).abs() > ClipRange).to_type(ScalarType.Float64).mean(),
            0.5 * logRatio.detach().to_type(ScalarType.Float64).square().mean(),
            r.mean(),
            (advantages.detach().abs() > AdvantageClip).to_type(ScalarType.Float64).mean()]);
        return new DdpoObjectiveResult(loss.MoveToOuterDisposeScope(), statistics.MoveToOuterDisposeScope());
    }
}

/// <summary>The DDPO loss and its statistics, kept on the device until <see cref="Diagnostics"/> is read.</summary>
public sealed class DdpoObjectiveResult
{
    private DdpoDiagnostics? _read;

    /// <summary>Wraps a loss and its statistics.</summary>
    /// <param name="loss">Scalar loss (0-d, differentiable).</param>
    /// <param name="statistics">float64 [5]: loss, clip fraction, approximate KL, mean ratio, clipped-advantage fraction.</param>
    /// <exception cref="ArgumentException">The statistics are not a 5-vector.</exception>
    public DdpoObjectiveResult(Tensor loss, Tensor statistics)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(statistics);
        if (statistics.dim() != 1 || statistics.shape[0] != 5)
            throw new ArgumentException($"DDPO statistics must be a [5] vector; got [{string.Join(", ", statistics.shape)}].", nameof(statistics));
        (Loss, Statistics) = (loss, statistics);
    }

    /// <summary>Scalar loss (0-d, differentiable).</summary>
    public Tensor Loss { get; }

    /// <summary>float64 [5] on the loss's device: loss, clip fraction, approximate KL, mean ratio, clipped-advantage fraction (detached).</summary>
    public Tensor Statistics { get; }

    /// <summary>The statistics on the host: one read (a GPU synchronisation) on first access, cached.</summary>
    public DdpoDiagnostics Diagnostics
    {
        get
        {
            if (_read is not null) return _read;
            var v = Statistics.cpu().data<double>().ToArray();
            return _read = new DdpoDiagnostics(v[0], v[1], v[2], v[3], v[4]);
        }
    }
}

/// <summary>Detached statistics of one DDPO objective evaluation (ddpo-pytorch's logged values).</summary>
/// <param name="Loss">The loss value.</param>
/// <param name="ClipFraction">Fraction of ratios with |r - 1| &gt; clip range.</param>
/// <param name="ApproxKL">0.5 mean((log p_new - log p_old)^2).</param>
/// <param name="MeanRatio">Mean ratio r.</param>
/// <param name="AdvantageClippedFraction">Fraction of advantages outside [-a, a].</param>
public sealed record DdpoDiagnostics(double Loss, double ClipFraction, double ApproxKL, double MeanRatio, double AdvantageClippedFraction);
