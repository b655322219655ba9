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
    /// <summary>Loss for ranked pairs: a = preferred, b = dis-preferred.</summary>
    public static PairwiseLossResult Ranked(string lossName, PreferencePair pair, double beta, double? clampEpsilon)
    {
        ArgumentNullException.ThrowIfNull(pair);
        var (hw, hl) = (pair.PreferredLogRatio, pair.DispreferredLogRatio);
        CheckLogRatios(hw, "pair.PreferredLogRatio", hl, "pair.DispreferredLogRatio");

        using var scope = NewDisposeScope();
        var (hwc, hlc, clamped) = Clamp(hw, hl, clampEpsilon);
        var margin = hwc - hlc;
        var loss = -nn.functional.logsigmoid(beta * margin).mean();
        TensorGuard.Finite(loss, $"the {lossName} loss");

        var diagnostics = new PairwiseLossDiagnostics(
            loss.item<double>(),
            (margin.detach() > 0).to_type(ScalarType.Float64).mean().item<double>(),
            hw.detach().to_type(ScalarType.Float64).mean().item<double>(),
            hl.detach().to_type(ScalarType.Float64).mean().item<double>(),
            clamped);
        return new PairwiseLossResult(loss.MoveToOuterDisposeScope(), diagnostics);
    }

    /// <summary>
    /// Loss for two responses ranked by their rewards (Appendix B's indicator form):
    /// s = +1 if r0 &gt; r1, -1 if r0 &lt; r1, and 0 on a tie (no preference: constant log 2, no gradient).
    /// </summary>
    public static PairwiseLossResult ByReward(string lossName, Tensor h0, Tensor h1, Tensor r0, Tensor r1, double beta, double? clampEpsilon)
    {
        CheckLogRatios(h0, "logRatio0", h1, "logRatio1");
        TensorGuard.Floating(r0, "reward0");
        TensorGuard.Floating(r1, "reward1");
        TensorGuard.SameShape(r0, "reward0", h0, "logRatio0");
        TensorGuard.SameShape(r1, "reward1", h0, "logRatio0");
        TensorGuard.FiniteArgument(r0, "reward0");
        TensorGuard.FiniteArgument(r1, "reward1");

        using var scope = NewDisposeScope();
        var sign = (r0.detach().to_type(ScalarType.Float64) - r1.detach().to_type(ScalarType.Float64)).sign().to(h0.device);
        var (h0c, h1c, clamped) = Clamp(h0, h1, clampEpsilon);
        var margin = sign.to_type(h0c.dtype) * (h0c - h1c);
        var loss = -nn.functional.logsigmoid(beta * margin).mean();
        TensorGuard.Finite(loss, $"the {lossName} loss");

        var decided = sign.ne(0);
        var decidedCount = decided.sum().item<long>();
        var batch = h0.shape[0];
        double accuracy = 0, meanPreferred = 0, meanDispreferred = 0;
        if (decidedCount > 0)
        {
            var preferFirst = sign > 0;
            var hw = where(preferFirst, h0.detach(), h1.detach()).to_type(ScalarType.Float64);
            var hl = where(preferFirst, h1.detach(), h0.detach()).to_type(ScalarType.Float64);
            accuracy = (margin.detach() > 0).logical_and(decided).sum().item<long>() / (double)decidedCount;
            meanPreferred = hw.masked_select(decided).mean().item<double>();
            meanDispreferred = hl.masked_select(decided).mean().item<double>();
        }

        var diagnostics = new PairwiseLossDiagnostics(loss.item<double>(), accuracy, meanPreferred, meanDispreferred, clamped)
        {
            TiedFraction = (batch - decidedCount) / (double)batch,
        };
        return new PairwiseLossResult(loss.MoveToOuterDisposeScope(), diagnostics);
    }

    private static (Tensor A, Tensor B, double ClampedFraction) Clamp(Tensor a, Tensor b, double? epsilon)
    {
        if (epsilon is not { } eps) return (a, b, 0);
        var lower = Math.Log(1 - eps);
        var upper = Math.Log(1 + eps);
        var outside = (a.detach() < lower).logical_or(a.detach() > upper).sum().item<long>()
                    + (b.detach() < lower).logical_or(b.detach() > upper).sum().item<long>();
        return (a.clamp(lower, upper), b.clamp(lower, upper), outside / (2.0 * a.numel()));
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
