namespace TailorPO.Core.Errors;

/// <summary>Base type of the exceptions the TailorPO.NET libraries throw for bad input or state.</summary>
public class TailorPOException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TailorPOException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public TailorPOException(string message, Exception innerException) : base(message, innerException) { }
}
