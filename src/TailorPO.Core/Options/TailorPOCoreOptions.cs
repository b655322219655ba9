namespace TailorPO.Core.Options;

/// <summary>
/// Everything TailorPO.Core is configured with, grouped by concern; every default is the paper's
/// (Section 4, "other hyper-parameters as D3PO"). Bind it from configuration (e.g. the section
/// <see cref="SectionName"/>) or set it in <c>AddTailorPOCore(o =&gt; ...)</c>; it is validated at start.
/// </summary>
public sealed class TailorPOCoreOptions
{
    /// <summary>The conventional configuration section name, <c>TailorPO:Core</c>.</summary>
    public const string SectionName = "TailorPO:Core";

    /// <summary>The training noise schedule.</summary>
    public NoiseScheduleOptions Schedule { get; set; } = new();

    /// <summary>DDIM sampling (steps 20, eta 1.0, CFG 5.0).</summary>
    public SamplingOptions Sampling { get; set; } = new();

    /// <summary>Pairwise losses (TailorPO, beta 0.1, D3PO clamp 0.1, Diffusion-DPO beta 5000).</summary>
    public PreferenceLossOptions Loss { get; set; } = new();

    /// <summary>The DDPO baseline (clip 1e-4, advantage clip 5, per-prompt statistics 16/16).</summary>
    public DdpoOptions Ddpo { get; set; } = new();

    /// <summary>Which steps are trained (T_finetune 5).</summary>
    public FinetuneOptions Finetune { get; set; } = new();
}
