using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// D3PO (Eq. 5): trajectory-level DPO. At a trained step t the two log-ratios are conditioned on
/// DIFFERENT inputs (h(x^w_{t-1} | x^w_t) and h(x^l_{t-1} | x^l_t)), ranked by the final images' rewards.
/// As in yk7333/d3po each ratio exp(h) is clamped to [1 - eps, 1 + eps] (eps = 0.1), which zeroes the
/// gradient of a log-ratio that has left the trust region.
/// </summary>
public sealed class D3poLoss : LogisticPairwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">KL weight beta &gt; 0 (d3po: 0.1).</param>
    /// <param name="clampEpsilon">Ratio clamp eps in (0, 1) (d3po: 0.1); null disables the clamp.</param>
    public D3poLoss(double beta = 0.1, double? clampEpsilon = 0.1)
        : base(PairwiseLossNames.D3po, beta, "the D3PO KL weight, e.g. 0.1", clampEpsilon)
    {
    }

    /// <summary>
    /// d3po's form with the preference from the two trajectories' final rewards: the first trajectory is
    /// preferred when reward0 &gt; reward1, the second when reward0 &lt; reward1; a tie prefers neither
    /// (constant log 2, no gradient; reported in <see cref="PairwiseLossDiagnostics.TiedFraction"/>).
    /// </summary>
    /// <param name="logRatio0">h of trajectory 0's step, [B].</param>
    /// <param name="logRatio1">h of trajectory 1's step, [B].</param>
    /// <param name="reward0">Final reward of trajectory 0, [B].</param>
    /// <param name="reward1">Final reward of trajectory 1, [B].</param>
    public PairwiseLossResult ComputeFromRewards(Tensor logRatio0, Tensor logRatio1, Tensor reward0, Tensor reward1) =>
        LogisticPreference.ByReward(Name, logRatio0, logRatio1, reward0, reward1, Beta, ClampEpsilon);
}
