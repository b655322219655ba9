namespace TailorPO.Core.Losses;

/// <summary>
/// DPO (Eq. 3): mean over pairs of -log sigma(beta (h_w - h_l)), h = log pi_theta / pi_ref of each response.
/// </summary>
public sealed class DpoLoss : LogisticPairwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">KL weight beta &gt; 0 (the paper and D3PO use 0.1).</param>
    public DpoLoss(double beta = 0.1)
        : base(PairwiseLossNames.Dpo, beta, "the DPO KL weight, e.g. 0.1", clampEpsilon: null)
    {
    }
}
