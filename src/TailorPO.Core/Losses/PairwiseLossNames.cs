namespace TailorPO.Core.Losses;

/// <summary>The <see cref="Abstractions.IPairwiseLoss.Name"/> of each built-in loss; also its DI service key.</summary>
public static class PairwiseLossNames
{
    /// <summary>DPO (Eq. 3).</summary>
    public const string Dpo = "dpo";

    /// <summary>D3PO (Eq. 5).</summary>
    public const string D3po = "d3po";

    /// <summary>TailorPO (Eq. 10).</summary>
    public const string TailorPO = "tailorpo";

    /// <summary>Diffusion-DPO (Wallace et al.).</summary>
    public const string DiffusionDpo = "diffusion-dpo";
}
