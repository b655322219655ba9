using TailorPO.Core.Errors;

namespace TailorPO.Core.Safetensors;

/// <summary>A safetensors file is malformed; the message names the file and the problem.</summary>
public sealed class SafetensorsFormatException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    public SafetensorsFormatException(string path, string problem)
        : base($"'{path}' is not a valid safetensors file: {problem}")
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that failed to parse.</summary>
    public string FilePath { get; }

    /// <summary>What was wrong with it.</summary>
    public string Problem { get; }
}
