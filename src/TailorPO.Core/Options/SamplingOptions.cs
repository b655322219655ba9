using TailorPO.Core.Schedules;

namespace TailorPO.Core.Options;

/// <summary>DDIM sampling settings shared by sampling and training (training must re-use them exactly).</summary>
public sealed class SamplingOptions
{
    /// <summary>Number of DDIM steps n. Paper (Section 4), DDPO and D3PO: 20.</summary>
    public int InferenceSteps { get; set; } = 20;

    /// <summary>
    /// DDIM eta in (0, 1]. Paper, DDPO and D3PO: 1.0 (stochastic DDIM). Must be &gt; 0: every
    /// preference method here needs log-probabilities of the sampled steps, which do not exist at eta = 0.
    /// </summary>
    public double Eta { get; set; } = 1.0;

    /// <summary>
    /// Classifier-free guidance scale w (eps_u + w (eps_c - eps_u)). Paper, DDPO, D3PO and SPO: 5.0.
    /// Pipelines and trainers put it into <see cref="Abstractions.DiffusionCondition.GuidanceScale"/>; the
    /// sampler applies the scale of the condition it is given.
    /// </summary>
    public double GuidanceScale { get; set; } = 5.0;

    /// <summary>Overrides the scheduler config's <c>timestep_spacing</c>; default null (SD v1.5: leading).</summary>
    public TimestepSpacing? TimestepSpacing { get; set; }
}
