using System.Text.Json.Serialization;

namespace TailorPO.Training.Guarding;

/// <summary>
/// The guard's state in a checkpoint's manifest (<see cref="Checkpoints.TrainerCounters.GoldMetricGuard"/>); the best
/// adapters themselves are tensors of the checkpoint's <c>state.safetensors</c> (<c>gold_guard.best.NAME</c>).
/// </summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)] // NaN: not known (a standard error, the drift before any update)
public sealed record GoldMetricGuardState
{
    /// <summary>The gold metric's name.</summary>
    public string Metric { get; init; } = "";

    /// <summary>The options' <see cref="GoldMetricGuardOptions.EveryImages"/> when written.</summary>
    public int EveryImages { get; init; }

    /// <summary>The options' <see cref="GoldMetricGuardOptions.Patience"/> when written.</summary>
    public int Patience { get; init; }

    /// <summary>The options' <see cref="GoldMetricGuardOptions.Tolerance"/> when written.</summary>
    public double Tolerance { get; init; }

    /// <summary>The history so far.</summary>
    public List<GoldMetricEvaluation> History { get; init; } = [];

    /// <summary>Images at the last evaluation, or -1 before the baseline.</summary>
    public long LastEvaluatedImages { get; init; } = -1;

    /// <summary>The current streak of proxy-up, gold-down evaluations.</summary>
    public int Streak { get; init; }

    /// <summary>The best gold value (NaN before the baseline).</summary>
    public double BestGold { get; init; } = double.NaN;

    /// <summary>The images of the best gold value (-1 before the baseline).</summary>
    public long BestImages { get; init; } = -1;

    /// <summary>True when the guard stopped the run.</summary>
    public bool Stopped { get; init; }

    /// <summary>Why it stopped, or null.</summary>
    public string? StopReason { get; init; }

    /// <summary>True when the best adapters were restored.</summary>
    public bool Restored { get; init; }
}
