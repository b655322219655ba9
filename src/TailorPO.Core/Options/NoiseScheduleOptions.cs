namespace TailorPO.Core.Options;

/// <summary>Where the training noise schedule comes from.</summary>
public sealed class NoiseScheduleOptions
{
    /// <summary>
    /// Path of a diffusers <c>scheduler_config.json</c> (e.g. <c>&lt;model&gt;/scheduler/scheduler_config.json</c>).
    /// Default null: Stable Diffusion v1.5's schedule (scaled_linear 0.00085..0.012 over 1000 steps,
    /// steps_offset 1, set_alpha_to_one false), which the paper, DDPO and D3PO use.
    /// </summary>
    public string? SchedulerConfigPath { get; set; }
}
