namespace TailorPO.Training.Guarding;

/// <summary>
/// The reward-hacking guard (<see cref="TailorPO.Training.Options.TailorPOTrainingOptions.GoldMetricGuard"/>): every
/// <see cref="EveryImages"/> images the trainer reads a registered <see cref="IGoldMetric"/>, keeps the adapters with the
/// best gold value, and stops when the proxy rose while the gold fell for <see cref="Patience"/> evaluations in a row.
/// Off by default (the paper has no such guard).
/// </summary>
public sealed class GoldMetricGuardOptions
{
    /// <summary>
    /// Evaluate the gold metric every this many final images (plus once before training, and once at the end when the
    /// last evaluation is older). 0 turns the guard off. Must be &gt;= 0; when &gt; 0 an <see cref="IGoldMetric"/> is required.
    /// </summary>
    public int EveryImages { get; set; }

    /// <summary>
    /// K: consecutive evaluations in which the proxy rose while the gold fell (each against the previous evaluation)
    /// after which training stops. Must be &gt;= 1. Default 2.
    /// </summary>
    public int Patience { get; set; } = 2;

    /// <summary>
    /// A gold drop (against the previous evaluation, or from the best at the end) no larger than this does not count as
    /// falling: set it near the gold metric's noise (e.g. one standard error). Must be finite and &gt;= 0. Default 0.
    /// </summary>
    public double Tolerance { get; set; }

    /// <summary>
    /// Restore the best adapters (by gold) when the guard stops training, and at the end of training when the last gold
    /// is below the best by more than <see cref="Tolerance"/>. Default true; false only stops.
    /// </summary>
    public bool RestoreBest { get; set; } = true;

    /// <summary>True when the guard is on (<see cref="EveryImages"/> &gt; 0).</summary>
    public bool Enabled => EveryImages > 0;
}
