namespace TailorPO.Training.Metrics;

/// <summary>
/// A metrics sink whose output a checkpoint can record and a resume can roll back to, so an interrupted run's rows
/// after its checkpoint (and a line half-written by a killed process) are dropped instead of appearing twice or
/// broken. The trainer records <see cref="Length"/> in each checkpoint's manifest under <see cref="Name"/> and calls
/// <see cref="TruncateTo"/> with it on resume and when a cancelled iteration is rolled back.
/// </summary>
public interface IResumableMetricsSink : ITrainingMetricsSink
{
    /// <summary>The sink's key in the checkpoint manifest (the file sinks use their file name).</summary>
    string Name { get; }

    /// <summary>The length of everything written so far, in the sink's own unit (bytes of whole lines for files).</summary>
    long Length { get; }

    /// <summary>Drops everything written after <paramref name="length"/> (a value <see cref="Length"/> returned).</summary>
    /// <returns>False, changing nothing, when the output is shorter than <paramref name="length"/> (rows the checkpoint
    /// counted are gone: the output was replaced or cut).</returns>
    bool TruncateTo(long length);
}
