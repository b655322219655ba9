namespace TailorPO.Samples.Cli;

/// <summary>The CLI's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>The command did its work.</summary>
    public const int Success = 0;

    /// <summary>The work failed (the message says why).</summary>
    public const int Failure = 1;

    /// <summary>Bad input: an unknown option, a bad value or path, an incompatible combination. Nothing was done.</summary>
    public const int BadInput = 2;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, the shell convention).</summary>
    public const int Cancelled = 130;
}
