namespace TailorPO.Guidance.Options;

/// <summary>
/// Configuration of <c>AddTailorPOGuidance</c> (TailorPO-G, Eq. 14 and Algorithm 1). Every default is
/// the paper's. Bind it from configuration (e.g. the section <see cref="SectionName"/>) or set it in
/// <c>AddTailorPOGuidance(o =&gt; ...)</c>; it is validated when the host starts.
/// </summary>
public sealed class TailorPOGuidanceOptions
{
    /// <summary>The conventional configuration section name, <c>TailorPO:Guidance</c>.</summary>
    public const string SectionName = "TailorPO:Guidance";

    /// <summary>True (default): TailorPO-G's <see cref="Refiners.RewardGradientRefiner"/> (needs a differentiable
    /// reward). False: plain TailorPO (<see cref="Refiners.NoOpRefiner"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>delta in r_high = r_t(c, x^w) + delta; finite and &gt; 0. Paper: 0.5.</summary>
    public double Delta { get; set; } = Refiners.RewardGradientRefiner.PaperDelta;

    /// <summary>The eta_t schedule. Paper: cosine.</summary>
    public GuidanceScheduleKind Schedule { get; set; } = GuidanceScheduleKind.Cosine;

    /// <summary>eta at the first (noisiest) step of the cosine schedule; finite, &gt; 0 and &lt;= <see cref="EtaMax"/>. Paper: 0.1.</summary>
    public double EtaMin { get; set; } = Schedules.CosineGuidanceSchedule.PaperMinimum;

    /// <summary>eta at the last step of the cosine schedule; finite and &gt;= <see cref="EtaMin"/>. Paper: 0.2.</summary>
    public double EtaMax { get; set; } = Schedules.CosineGuidanceSchedule.PaperMaximum;

    /// <summary>eta of the constant schedule (an ablation; not in the paper); finite and &gt; 0. Default 0.1.</summary>
    public double ConstantEta { get; set; } = 0.1;

    /// <summary>Algorithm 1's check: keep x^+ only where it raises the step reward. Paper: true.</summary>
    public bool RequireImprovement { get; set; } = true;

    /// <summary>Also compute the opposite step x^- and its reward (Table 1's analysis). Default false.</summary>
    public bool ComputeOpposite { get; set; }
}
