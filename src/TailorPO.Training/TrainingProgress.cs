using TailorPO.Training.Metrics;

namespace TailorPO.Training;

/// <summary>Reported after every update.</summary>
/// <param name="Samples">Final images generated so far.</param>
/// <param name="SampleBudget">The run's budget.</param>
/// <param name="Iteration">The current batch index.</param>
/// <param name="Latest">The latest update's metrics.</param>
public sealed record TrainingProgress(long Samples, long SampleBudget, int Iteration, TrainingStepMetrics Latest)
{
    /// <summary>Fraction of the budget used, in [0, 1].</summary>
    public double Fraction => SampleBudget == 0 ? 1 : Math.Min(1.0, Samples / (double)SampleBudget);
}
