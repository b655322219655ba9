using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// A model <c>config.json</c> is missing, malformed, or asks for something this library does not
/// implement; the message names the file and every offending knob.
/// </summary>
public sealed class ModelConfigException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The config file (or "in-memory config").</param>
    /// <param name="problems">One line per offending knob.</param>
    public ModelConfigException(string source, IReadOnlyList<string> problems)
        : base($"The model config '{source}' cannot be used: " + string.Join("; ", problems))
    {
        ConfigSource = source;
        Problems = problems;
    }

    /// <summary>Where the config came from.</summary>
    public string ConfigSource { get; }

    /// <summary>Each problem, naming its knob.</summary>
    public IReadOnlyList<string> Problems { get; }
}
