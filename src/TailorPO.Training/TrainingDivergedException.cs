using TailorPO.Core.Errors;

namespace TailorPO.Training;

/// <summary>
/// Training stopped because too many updates in a row had a NaN or infinite loss or gradient. The adapters hold the
/// last finite weights (no skipped update was applied).
/// </summary>
public sealed class TrainingDivergedException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message) : base(message) { }

    /// <summary>Creates the exception with the check that failed.</summary>
    public TrainingDivergedException(string message, Exception innerException) : base(message, innerException) { }
}
