namespace TailorPO.Core.Options;

/// <summary>Which pairwise preference loss the unkeyed <see cref="Abstractions.IPairwiseLoss"/> service resolves to.</summary>
public enum PreferenceLossKind
{
    /// <summary>TailorPO (Eq. 10): step-level pairs drawn from the same x_t.</summary>
    TailorPO,

    /// <summary>D3PO (Eq. 5): trajectory-level pairs, log-ratios conditioned on different x_t, ratio clamp.</summary>
    D3po,

    /// <summary>DPO (Eq. 3): the plain Bradley-Terry objective on two responses.</summary>
    Dpo,

    /// <summary>Diffusion-DPO (Wallace et al.): offline image pairs, implicit log-ratios from denoising errors.</summary>
    DiffusionDpo,
}
