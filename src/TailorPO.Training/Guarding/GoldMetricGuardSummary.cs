namespace TailorPO.Training.Guarding;

/// <summary>What the reward-hacking guard did in a run (<see cref="TrainingReport.GoldMetricGuard"/>).</summary>
/// <param name="Metric">The gold metric's name.</param>
/// <param name="Evaluations">Gold-metric evaluations (the baseline included, restore rows not).</param>
/// <param name="BestImages">The images at which the best gold value was read.</param>
/// <param name="BestGold">The best gold value.</param>
/// <param name="LastGold">The last evaluation's gold value.</param>
/// <param name="StoppedEarly">True when the guard stopped training before the budget.</param>
/// <param name="StopReason">Why it stopped, or null.</param>
/// <param name="RestoredBest">True when the adapters were set back to the best ones.</param>
/// <param name="History">Every row (as <c>gold-metric.csv</c> holds them).</param>
public sealed record GoldMetricGuardSummary(string Metric, int Evaluations, long BestImages, double BestGold, double LastGold,
    bool StoppedEarly, string? StopReason, bool RestoredBest, IReadOnlyList<GoldMetricEvaluation> History);
