namespace TailorPO.Core.Errors;

/// <summary>
/// A tensor that must be finite holds NaN or infinity (a loss, a log-ratio, a reward). Raised
/// instead of letting a NaN propagate silently into the weights.
/// </summary>
public sealed class NonFiniteValueException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="what">What held the value, e.g. "the D3PO loss" or "argument 'logRatio'".</param>
    /// <param name="detail">Counts or values that help, e.g. "3 of 8 elements are NaN".</param>
    public NonFiniteValueException(string what, string detail)
        : base($"{what} is not finite: {detail}. Check the learning rate, eta (> 0) and the inputs for NaN.")
    {
        What = what;
    }

    /// <summary>What held the non-finite value.</summary>
    public string What { get; }
}
