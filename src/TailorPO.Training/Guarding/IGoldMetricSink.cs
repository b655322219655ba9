namespace TailorPO.Training.Guarding;

/// <summary>Receives the guard's history (e.g. <see cref="CsvGoldMetricSink"/> writes <c>gold-metric.csv</c>).</summary>
public interface IGoldMetricSink
{
    /// <summary>
    /// Called with the WHOLE history after every new row and after a resume (then the checkpoint's history, dropping
    /// rows an interrupted run wrote after it): a sink rewrites its output from it.
    /// </summary>
    void Write(IReadOnlyList<GoldMetricEvaluation> history);
}
