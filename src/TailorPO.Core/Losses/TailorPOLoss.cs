using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// TailorPO (Eq. 10): step-level DPO on two candidates x^0_{t-1}, x^1_{t-1} drawn from the SAME x_t and
/// ranked by their step-wise rewards: -log sigma(beta (h(x^w_{t-1} | x_t) - h(x^l_{t-1} | x_t))). Because
/// both log-ratios share x_t, the gradient (Eq. 11) points from the dis-preferred to the preferred sample.
/// </summary>
/// <remarks>
/// Ties: Appendix B writes s = +1 if r_t(x^0) &gt; r_t(x^1), else -1, which would silently prefer x^1
/// whenever the two step rewards are equal. <see cref="ComputeFromCandidates"/> instead gives a tied pair
/// s = 0 - a constant log 2 with no gradient, counted in the batch mean - which is what the d3po code this
/// paper builds on does, and reports the fraction in <see cref="PairwiseLossDiagnostics.TiedFraction"/>.
/// </remarks>
public sealed class TailorPOLoss : LogisticPairwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">KL weight beta &gt; 0 (the paper: 0.1, as D3PO).</param>
    /// <param name="clampEpsilon">Optional ratio clamp eps in (0, 1) as in D3PO; default null (Eq. 10 has none).</param>
    public TailorPOLoss(double beta = 0.1, double? clampEpsilon = null)
        : base(PairwiseLossNames.TailorPO, beta, "the TailorPO KL weight, e.g. 0.1", clampEpsilon)
    {
    }

    /// <summary>
    /// Appendix B's indicator form: -log sigma(beta s (h(x^0) - h(x^1))) with s = +1 if r0 &gt; r1,
    /// -1 if r0 &lt; r1 and 0 on a tie (see the remarks).
    /// </summary>
    /// <param name="logRatio0">h(x^0_{t-1} | x_t), [B].</param>
    /// <param name="logRatio1">h(x^1_{t-1} | x_t), [B].</param>
    /// <param name="stepReward0">r_t(c, x^0_{t-1}), [B].</param>
    /// <param name="stepReward1">r_t(c, x^1_{t-1}), [B].</param>
    public PairwiseLossResult ComputeFromCandidates(Tensor logRatio0, Tensor logRatio1, Tensor stepReward0, Tensor stepReward1) =>
        LogisticPreference.ByReward(Name, logRatio0, logRatio1, stepReward0, stepReward1, Beta, ClampEpsilon, nameof(stepReward0), nameof(stepReward1));
}
