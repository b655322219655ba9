namespace TailorPO.Core.Options;

/// <summary>Hyper-parameters of the pairwise preference losses.</summary>
public sealed class PreferenceLossOptions
{
    /// <summary>The loss the unkeyed <see cref="Abstractions.IPairwiseLoss"/> service resolves to; default TailorPO.</summary>
    public PreferenceLossKind Kind { get; set; } = PreferenceLossKind.TailorPO;

    /// <summary>beta of DPO, D3PO and TailorPO (the KL weight). Paper and D3PO: 0.1. Must be &gt; 0.</summary>
    public double Beta { get; set; } = 0.1;

    /// <summary>
    /// D3PO's ratio clamp eps: exp(h) is clamped to [1 - eps, 1 + eps]. yk7333/d3po: 0.1. Null disables
    /// the clamp. Must lie in (0, 1).
    /// </summary>
    public double? D3poClampEpsilon { get; set; } = 0.1;

    /// <summary>
    /// Optional ratio clamp for TailorPO, as for D3PO. Default null: Eq. 10 has no clamp. Must lie in (0, 1) when set.
    /// </summary>
    public double? TailorPOClampEpsilon { get; set; }

    /// <summary>beta_dpo of Diffusion-DPO (Wallace et al.): 5000 for SD v1.5. Must be &gt; 0.</summary>
    public double DiffusionDpoBeta { get; set; } = 5000;
}
