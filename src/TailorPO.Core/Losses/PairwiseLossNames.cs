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

    /// <summary>The name (and DI service key) of the loss a <see cref="Options.PreferenceLossKind"/> selects.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not a defined value.</exception>
    public static string Of(Options.PreferenceLossKind kind) => kind switch
    {
        Options.PreferenceLossKind.TailorPO => TailorPO,
        Options.PreferenceLossKind.D3po => D3po,
        Options.PreferenceLossKind.Dpo => Dpo,
        Options.PreferenceLossKind.DiffusionDpo => DiffusionDpo,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown preference loss kind {kind}."),
    };
}
