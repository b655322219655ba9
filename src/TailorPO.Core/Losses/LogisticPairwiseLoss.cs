using TailorPO.Core.Abstractions;

namespace TailorPO.Core.Losses;

/// <summary>
/// The pairwise losses of Bradley-Terry form: mean over pairs of -log sigma(beta (h_w - h_l)), optionally
/// with D3PO's ratio clamp. DPO, D3PO, TailorPO and Diffusion-DPO are this one loss; they differ in what
/// the log-ratios h are (responses; trajectory steps from different x_t; candidates from the same x_t;
/// implicit ratios of denoising errors), in their defaults and in how they rank unranked pairs.
/// </summary>
public abstract class LogisticPairwiseLoss : IPairwiseLoss
{
    private protected LogisticPairwiseLoss(string name, double beta, string betaMeaning, double? clampEpsilon)
    {
        LogisticPreference.CheckBeta(beta, nameof(beta), betaMeaning);
        LogisticPreference.CheckClamp(clampEpsilon, nameof(clampEpsilon));
        Name = name;
        Beta = beta;
        ClampEpsilon = clampEpsilon;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The KL weight beta (beta_dpo for Diffusion-DPO).</summary>
    public double Beta { get; }

    /// <summary>
    /// The ratio clamp eps (each exp(h) clamped to [1 - eps, 1 + eps], D3PO's trust region), or null for
    /// no clamp (always for DPO and Diffusion-DPO; TailorPO's default).
    /// </summary>
    public double? ClampEpsilon { get; }

    /// <inheritdoc />
    /// <remarks>The pair is already ranked: its first log-ratio is the preferred sample's.</remarks>
    public PairwiseLossResult Compute(PreferencePair pair) => LogisticPreference.Ranked(Name, pair, Beta, ClampEpsilon);
}
