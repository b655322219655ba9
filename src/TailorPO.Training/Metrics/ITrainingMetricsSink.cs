namespace TailorPO.Training.Metrics;

/// <summary>Receives every update's metrics (CSV and JSON-lines writers ship; register your own for a dashboard).</summary>
public interface ITrainingMetricsSink
{
    /// <summary>Records one update.</summary>
    void Write(TrainingStepMetrics metrics);

    /// <summary>Makes everything written so far durable (called at checkpoints and at the end).</summary>
    void Flush();
}
