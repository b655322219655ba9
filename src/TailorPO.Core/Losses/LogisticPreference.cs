using TailorPO.Core.Abstractions;
using TailorPO.Core.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// The Bradley-Terry core every pairwise loss shares: mean over pairs of
/// -log sigma(beta * s * (h_a - h_b)), with an optional clamp of each log-ratio to
/// [log(1 - eps), log(1 + eps)] (D3PO's clamp of exp(h) to [1 - eps, 1 + eps], applied in log space
/// so that a huge h cannot overflow exp and poison the gradient with inf * 0).
/// </summary>
internal static class LogisticPreference
{
    /// <summary>
    /// Loss for ranked pairs: a = preferred, b = dis-preferred, each pair weighted by
    /// <see cref="PreferencePair.Weight"/> (weight 0 = a tie: constant log 2, no gradient).
    /// </summary>
    public static PairwiseLossResult Ranked(string lossName, PreferencePair pair, double beta, double? clampEpsilon)
    {
        ArgumentNullException.ThrowIfNull(pair);
        const string wName = "pair.PreferredLogRatio", lName = "pair.DispreferredLogRatio";
        var (hw, hl) = (pair.PreferredLogRatio, pair.DispreferredLogRatio);
        CheckLogRatioShapes(hw, wName, hl, lName);
        if (pair.Weight is { } w)
        {
            TensorGuard.Floating(w, "pair.Weight");
            TensorGuard.SameShape(w, "pair.Weight", hw, wName);
            TensorGuard.SameDevice(w, "pair.Weight", hw, wName);
        }
        using var scope = NewDisposeScope();
        var (loss, logits) = Weighted(hw, hl, pair.Weight?.detach(), beta, clampEpsilon);
        // One check for the inputs and the loss (the inputs on their own: a clamp, or a margin of +inf, gives a finite loss).
        // Without a clamp or weights the logits beta (h_w - h_l) are non-finite whenever a log-ratio is, so their sum plus the
        // loss screens all three with three kernels; otherwise the parts are joined.
        var screen = clampEpsilon is null && pair.Weight is null ? logits.sum() + loss : null;
        TensorGuard.AllFinite(screen, (hw, $"argument '{wName}'"), (hl, $"argument '{lName}'"), (loss, $"the {lossName} loss"));
        var weight = pair.Weight;
        var statistics = LazyStatistics(loss, [hw, hl, weight], () => (hw, hl, weight), clampEpsilon);
        return new PairwiseLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }

    /// <summary>
    /// Loss for two responses ranked by their rewards (Appendix B's indicator form):
    /// s = +1 if r0 &gt; r1, -1 if r0 &lt; r1, and 0 on a tie (no preference: constant log 2, no gradient).
    /// </summary>
    public static PairwiseLossResult ByReward(string lossName, Tensor h0, Tensor h1, Tensor r0, Tensor r1, double beta, double? clampEpsilon,
        string r0Name = "reward0", string r1Name = "reward1")
    {
        CheckLogRatioShapes(h0, "logRatio0", h1, "logRatio1");
        TensorGuard.Floating(r0, r0Name);
        TensorGuard.Floating(r1, r1Name);
        TensorGuard.SameShape(r0, r0Name, h0, "logRatio0");
        TensorGuard.SameShape(r1, r1Name, h0, "logRatio0");
        TensorGuard.SameDevice(r0, r0Name, h0, "logRatio0");
        TensorGuard.SameDevice(r1, r1Name, h0, "logRatio0");

        using var scope = NewDisposeScope();
        var (hw, hl, weight) = RankByReward(h0, h1, r0, r1);
        var (loss, _) = Weighted(hw, hl, weight, beta, clampEpsilon);
        TensorGuard.AllFinite((r0, $"argument '{r0Name}'"), (r1, $"argument '{r1Name}'"), (h0, "argument 'logRatio0'"), (h1, "argument 'logRatio1'"),
            (loss, $"the {lossName} loss"));
        // The statistics rank again when read, from the caller's tensors: the loss leaves no tensor of its own behind.
        var statistics = LazyStatistics(loss, [h0, h1, r0, r1], () => RankByReward(h0, h1, r0, r1), clampEpsilon);
        return new PairwiseLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }

    /// <summary>(h_w, h_l, weight) of Appendix B's indicator: x^1 wins where r1 &gt; r0; weight |s|, 0 on a tie.</summary>
    private static (Tensor Preferred, Tensor Dispreferred, Tensor Weight) RankByReward(Tensor h0, Tensor h1, Tensor r0, Tensor r1)
    {
        var sign = (r0.detach().to_type(ScalarType.Float64) - r1.detach().to_type(ScalarType.Float64)).sign();
        var secondWins = sign < 0;
        return (where(secondWins, h1, h0), where(secondWins, h0, h1), sign.abs().to_type(h0.dtype));
    }

    /// <summary>
    /// mean_b [ w_b (-log sigma(beta (h_w - h_l))) + (1 - w_b) log 2 ], with the same kernels as the bare expression
    /// (plus the clamp when asked for), and the logits beta (h_w - h_l) it applied log sigma to.
    /// </summary>
    private static (Tensor Loss, Tensor Logits) Weighted(Tensor hw, Tensor hl, Tensor? weight, double beta, double? clampEpsilon)
    {
        var margin = clampEpsilon is { } eps ? hw.clamp(Math.Log(1 - eps), Math.Log(1 + eps)) - hl.clamp(Math.Log(1 - eps), Math.Log(1 + eps)) : hw - hl;
        var logits = beta * margin;
        var perPair = -nn.functional.logsigmoid(logits);
        var loss = weight is null
            ? perPair.mean()
            : (weight * perPair + (1 - weight) * Math.Log(2)).mean();
        return (loss, logits);
    }

    /// <summary>
    /// The [6] statistics vector (loss, implicit accuracy, mean h_w, mean h_l, clamped fraction, tied fraction), computed
    /// on first access from the caller's tensors (kept by reference, not copied; no tensor of the loss's own is kept).
    /// </summary>
    /// <param name="loss">The loss (its value is the first statistic).</param>
    /// <param name="inputs">The caller's tensors <paramref name="ranked"/> reads (null entries are skipped).</param>
    /// <param name="ranked">(h_w, h_l, pair weight or null), computed at the first read.</param>
    /// <param name="clampEpsilon">The loss's ratio clamp, for the clamped fraction.</param>
    private static PairwiseLossStatistics LazyStatistics(Tensor loss, Tensor?[] inputs, Func<(Tensor Preferred, Tensor Dispreferred, Tensor? Weight)> ranked,
        double? clampEpsilon) =>
        new(() =>
        {
            if (loss.IsInvalid || inputs.Any(t => t is not null && t.IsInvalid))
                throw new ObjectDisposedException(nameof(PairwiseLossStatistics),
                    "The loss's statistics are computed on first access from the loss and its inputs, and some of them were disposed since; read them while they are alive.");
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (hw, hl, weight) = ranked();
            var (w, l) = (hw.detach(), hl.detach());
            // The implicit accuracy reads the unclamped log-ratios (the implicit reward beta * h, as DPO reports it): the clamp
            // is the loss's trust region, and a pair whose two ratios both left it is not thereby ranked wrongly.
            var columns = stack([(w > l).to_type(w.dtype), w, l]).to_type(ScalarType.Float64); // [3, B]
            Tensor means, tied;
            if (weight is null)
            {
                means = columns.mean([1]);
                tied = zeros(1, ScalarType.Float64, w.device);
            }
            else
            {
                var pairWeight = weight.to_type(ScalarType.Float64);
                // With no decided pair every weighted sum is 0, so 0 / eps reports 0 without a branch.
                means = (columns * pairWeight).sum(1) / pairWeight.sum().clamp_min(1e-12);
                tied = pairWeight.eq(0).to_type(ScalarType.Float64).mean().reshape(1);
            }
            var statistics = cat([loss.detach().to_type(ScalarType.Float64).reshape(1), means, ClampedFraction(w, l, clampEpsilon).reshape(1), tied]);
            return statistics.MoveToOuterDisposeScope();
        });

    private static Tensor ClampedFraction(Tensor a, Tensor b, double? epsilon)
    {
        if (epsilon is not { } eps) return zeros([], ScalarType.Float64, a.device);
        var lower = Math.Log(1 - eps);
        var upper = Math.Log(1 + eps);
        Tensor Outside(Tensor x) => (x < lower).logical_or(x > upper).to_type(ScalarType.Float64).sum();
        return (Outside(a) + Outside(b)) / (2.0 * a.numel());
    }

    /// <summary>Dtype, rank, shape and device of two [B] log-ratios (no host read; finiteness is checked with the loss).</summary>
    internal static void CheckLogRatioShapes(Tensor a, string aName, Tensor b, string bName)
    {
        TensorGuard.Floating(a, aName);
        TensorGuard.Floating(b, bName);
        TensorGuard.Rank(a, 1, aName, "one log-ratio per batch element, [B]");
        if (a.shape[0] < 1)
            throw new ArgumentException($"Argument '{aName}' is empty; expected [B] with B >= 1.", aName);
        TensorGuard.SameShape(b, bName, a, aName);
        TensorGuard.SameDevice(b, bName, a, aName);
    }

    /// <summary>The shape checks of <see cref="CheckLogRatioShapes"/> and each tensor's finiteness (one host read each).</summary>
    internal static void CheckLogRatios(Tensor a, string aName, Tensor b, string bName)
    {
        CheckLogRatioShapes(a, aName, b, bName);
        TensorGuard.FiniteArgument(a, aName);
        TensorGuard.FiniteArgument(b, bName);
    }

    internal static void CheckBeta(double beta, string name, string meaning) => TensorGuard.Positive(beta, name, meaning);

    internal static void CheckClamp(double? epsilon, string name)
    {
        if (epsilon is { } eps && !(eps > 0 && eps < 1))
            throw new ArgumentOutOfRangeException(name, eps, $"Argument '{name}' must lie in (0, 1) or be null (no clamp); got {eps}.");
    }
}
