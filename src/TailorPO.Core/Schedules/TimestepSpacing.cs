namespace TailorPO.Core.Schedules;

/// <summary>How inference timesteps are picked from the training timesteps (diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary>
    /// <c>leading</c>: <c>arange(n) * (N // n)</c>, reversed, plus <c>steps_offset</c>
    /// (SD v1.5: 951, 901, ..., 1 for 20 steps).
    /// </summary>
    Leading,

    /// <summary><c>trailing</c>: <c>round(arange(N, 0, -N / n)) - 1</c> (999, 949, ..., 49 for 20 steps); ignores <c>steps_offset</c>.</summary>
    Trailing,

    /// <summary><c>linspace</c>: <c>round(linspace(0, N - 1, n))</c>, reversed; ignores <c>steps_offset</c>.</summary>
    Linspace,
}
