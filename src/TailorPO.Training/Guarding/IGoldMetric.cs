namespace TailorPO.Training.Guarding;

/// <summary>
/// A held-out metric the trainer's reward-hacking guard reads every <see cref="GoldMetricGuardOptions.EveryImages"/>
/// images on the CURRENT adapters: the gold value (what you actually want, higher is better - e.g. an exact measurer's
/// accuracy or human ratings) and the proxy value (the training reward's mean on the same held-out images). The trainer
/// does not know what either measures; it only watches the proxy rise while the gold falls.
/// </summary>
/// <remarks>
/// An implementation generates (or scores) a FIXED held-out set with its own generators, never the run's: the guard then
/// leaves the training trajectory untouched, and a resumed run reads the same values. It runs under <c>no_grad</c> and a
/// dispose scope the trainer opens, and must leave the adapters as it found them.
/// </remarks>
public interface IGoldMetric
{
    /// <summary>A short name for logs and checkpoints (e.g. "scene-accuracy").</summary>
    string Name { get; }

    /// <summary>Reads the metric on the current adapters.</summary>
    /// <param name="images">Final images the run has generated so far (0 for the baseline before training).</param>
    /// <param name="cancellationToken">Cancels the evaluation; the trainer then writes its checkpoint and stops.</param>
    /// <returns>The gold and proxy values (finite).</returns>
    GoldMetricReading Evaluate(long images, CancellationToken cancellationToken);
}
