using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// A model's <c>config.json</c> is missing, malformed, or holds a value this library cannot build
/// (an unknown activation, a block type it does not implement, a width that does not divide).
/// The message names the file, the key and what was expected.
/// </summary>
public sealed class ModelConfigException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The config file (or "in-memory config").</param>
    /// <param name="problem">What is wrong and what was expected.</param>
    public ModelConfigException(string source, string problem)
        : base($"Config '{source}': {problem}")
    {
        ConfigSource = source;
    }

    /// <summary>The config file the problem was found in.</summary>
    public string ConfigSource { get; }
}
