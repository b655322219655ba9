namespace TailorPO.Core.Abstractions;

/// <summary>
/// A part whose state changes while training and decides later results - a running reward normaliser, per-prompt
/// reward statistics - so an exact resume must carry it. Trainers write <see cref="ExportState"/> into their checkpoints
/// and call <see cref="ImportState"/> on resume (TailorPO.Training does so for the reward model it was given).
/// </summary>
public interface IStatefulComponent
{
    /// <summary>The state as named float64 arrays (exact: checkpoints store them losslessly).</summary>
    IReadOnlyDictionary<string, double[]> ExportState();

    /// <summary>Replaces the state with one from <see cref="ExportState"/>.</summary>
    /// <exception cref="InvalidDataException">The state is not one this component wrote (the message names the key).</exception>
    void ImportState(IReadOnlyDictionary<string, double[]> state);
}
