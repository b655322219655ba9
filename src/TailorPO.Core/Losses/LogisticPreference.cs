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
        var (hw, hl) = (pair.PreferredLogRatio, pair.DispreferredLogRatio);
        CheckLogRatios(hw, "pair.PreferredLogRatio", hl, "pair.DispreferredLogRatio");
        if (pair.Weight is { } w)
        {
            TensorGuard.Floating(w, "pair.Weight");
            TensorGuard.SameShape(w, "pair.Weight", hw, "pair.PreferredLogRatio");
            TensorGuard.SameDevice(w, "pair.Weight", hw, "pair.PreferredLogRatio");
        }
        return Weighted(lossName, hw, hl, pair.Weight?.detach(), beta, clampEpsilon);
    }

    /// <summary>
    /// Loss for two responses ranked by their rewards (Appendix B's indicator form):
    /// s = +1 if r0 &gt; r1, -1 if r0 &lt; r1, and 0 on a tie (no preference: constant log 2, no gradient).
    /// </summary>
    public static PairwiseLossResult ByReward(string lossName, Tensor h0, Tensor h1, Tensor r0, Tensor r1, double beta, double? clampEpsilon,
        string r0Name = "reward0", string r1Name = "reward1")
    {
        CheckLogRatios(h0, "logRatio0", h1, "logRatio1");
        TensorGuard.Floating(r0, r0Name);
        TensorGuard.Floating(r1, r1Name);
        TensorGuard.SameShape(r0, r0Name, h0, "logRatio0");
        TensorGuard.SameShape(r1, r1Name, h0, "logRatio0");
        TensorGuard.SameDevice(r0, r0Name, h0, "logRatio0");
        TensorGuard.SameDevice(r1, r1Name, h0, "logRatio0");
        TensorGuard.FiniteArgument(r0, r0Name);
        TensorGuard.FiniteArgument(r1, r1Name);

        using var scope = NewDisposeScope();
        var sign = (r0.detach().to_type(ScalarType.Float64) - r1.detach().to_type(ScalarType.Float64)).sign();
        var secondWins = sign < 0;
        var hw = where(secondWins, h1, h0);
        var hl = where(secondWins, h0, h1);
        var result = Weighted(lossName, hw, hl, sign.abs().to_type(h0.dtype), beta, clampEpsilon);
        result.Loss.MoveToOuterDisposeScope();
        result.Statistics.Values.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// mean_b [ w_b (-log sigma(beta (h_w - h_l))) + (1 - w_b) log 2 ] and its statistics, all on the device
    /// (no host read; the finiteness check of the loss is deferred inside a <see cref="Errors.DeferredFiniteChecks"/> batch).
    /// </summary>
    private static PairwiseLossResult Weighted(string lossName, Tensor hw, Tensor hl, Tensor? weight, double beta, double? clampEpsilon)
    {
        using var scope = NewDisposeScope();
        var (hwc, hlc, clamped) = Clamp(hw, hl, clampEpsilon);
        var margin = hwc - hlc;
        var perPair = -nn.functional.logsigmoid(beta * margin);
        var loss = weight is null
            ? perPair.mean()
            : (weight * perPair + (1 - weight) * Math.Log(2)).mean();
        TensorGuard.Finite(loss, $"the {lossName} loss");

        // Few kernels on purpose: on small batches every tensor op costs more than the arithmetic.
        using var noGrad = no_grad();
        // The implicit accuracy reads the unclamped log-ratios (the implicit reward beta * h, as DPO reports it): the clamp
        // is the loss's trust region, and a pair whose two ratios both left it is not thereby ranked wrongly.
        var columns = stack([(hw > hl).to_type(hw.dtype), hw, hl]).detach().to_type(ScalarType.Float64); // [3, B]
        Tensor means, tied;
        if (weight is null)
        {
            means = columns.mean([1]);
            tied = zeros(1, ScalarType.Float64, hw.device);
        }
        else
        {
            var w = weight.to_type(ScalarType.Float64);
            // With no decided pair every weighted sum is 0, so 0 / eps reports 0 without a branch.
            means = (columns * w).sum(1) / w.sum().clamp_min(1e-12);
            tied = w.eq(0).to_type(ScalarType.Float64).mean().reshape(1);
        }
        var statistics = cat([loss.detach().to_type(ScalarType.Float64).reshape(1), means, clamped.reshape(1), tied]);
        return new PairwiseLossResult(loss.MoveToOuterDisposeScope(), new PairwiseLossStatistics(statistics.MoveToOuterDisposeScope()));
    }

    private static (Tensor A, Tensor B, Tensor ClampedFraction) Clamp(Tensor a, Tensor b, double? epsilon)
    {
        if (epsilon is not { } eps) return (a, b, zeros([], ScalarType.Float64, a.device));
        var lower = Math.Log(1 - eps);
        var upper = Math.Log(1 + eps);
        Tensor Outside(Tensor x) => (x.detach() < lower).logical_or(x.detach() > upper).to_type(ScalarType.Float64).sum();
        var fraction = (Outside(a) + Outside(b)) / (2.0 * a.numel());
        return (a.clamp(lower, upper), b.clamp(lower, upper), fraction);
    }

    internal static void CheckLogRatios(Tensor a, string aName, Tensor b, string bName)
    {
        TensorGuard.Floating(a, aName);
        TensorGuard.Floating(b, bName);
        TensorGuard.Rank(a, 1, aName, "one log-ratio per batch element, [B]");
        if (a.shape[0] < 1)
            throw new ArgumentException($"Argument '{aName}' is empty; expected [B] with B >= 1.", aName);
        TensorGuard.SameShape(b, bName, a, aName);
        TensorGuard.SameDevice(b, bName, a, aName);
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
