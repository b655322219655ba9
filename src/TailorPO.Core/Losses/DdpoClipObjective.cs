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

        var r = ratio.detach().to_type(ScalarType.Float64);
        var diagnostics = new DdpoDiagnostics(
            loss.detach().to_type(ScalarType.Float64).item<double>(),
            ((r - 1).abs() > ClipRange).to_type(ScalarType.Float64).mean().item<double>(),
            0.5 * logRatio.detach().to_type(ScalarType.Float64).square().mean().item<double>(),
            r.mean().item<double>(),
            (advantages.detach().abs() > AdvantageClip).to_type(ScalarType.Float64).mean().item<double>());
        return new DdpoObjectiveResult(loss.MoveToOuterDisposeScope(), diagnostics);
    }
}

/// <summary>The DDPO loss and its diagnostics.</summary>
/// <param name="Loss">Scalar loss (0-d, differentiable).</param>
/// <param name="Diagnostics">Detached statistics.</param>
public sealed record DdpoObjectiveResult(Tensor Loss, DdpoDiagnostics Diagnostics);

/// <summary>Detached statistics of one DDPO objective evaluation (ddpo-pytorch's logged values).</summary>
/// <param name="Loss">The loss value.</param>
/// <param name="ClipFraction">Fraction of ratios with |r - 1| &gt; clip range.</param>
/// <param name="ApproxKL">0.5 mean((log p_new - log p_old)^2).</param>
/// <param name="MeanRatio">Mean ratio r.</param>
/// <param name="AdvantageClippedFraction">Fraction of advantages outside [-a, a].</param>
public sealed record DdpoDiagnostics(double Loss, double ClipFraction, double ApproxKL, double MeanRatio, double AdvantageClippedFraction);
