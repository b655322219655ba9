using TailorPO.Core.Abstractions;

namespace TailorPO.Core.Losses;

/// <summary>
/// DPO (Eq. 3): mean over pairs of -log sigma(beta (h_w - h_l)), h = log pi_theta / pi_ref of each response.
/// </summary>
public sealed class DpoLoss : IPairwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">KL weight beta &gt; 0 (the paper and D3PO use 0.1).</param>
    public DpoLoss(double beta = 0.1)
    {
        LogisticPreference.CheckBeta(beta, nameof(beta), "the DPO KL weight, e.g. 0.1");
        Beta = beta;
    }

    /// <summary>The KL weight beta.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Name => PairwiseLossNames.Dpo;

    /// <inheritdoc />
    public PairwiseLossResult Compute(PreferencePair pair) => LogisticPreference.Ranked(Name, pair, Beta, clampEpsilon: null);
}
