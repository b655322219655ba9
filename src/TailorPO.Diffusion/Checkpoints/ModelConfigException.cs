using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// A model's <c>config.json</c> is missing, malformed, or asks for something this library does not
/// implement (an unknown activation, a block type it does not build, a width that does not divide).
/// The message names the file, every offending key and what was expected.
/// </summary>
public sealed class ModelConfigException : TailorPOException
{
    /// <summary>Creates the exception for one problem.</summary>
    /// <param name="source">The config file (or "in-memory config").</param>
    /// <param name="problem">What is wrong and what was expected.</param>
    public ModelConfigException(string source, string problem)
        : this(source, new[] { problem })
    {
    }

    /// <summary>Creates the exception for several problems, one per offending key.</summary>
    /// <param name="source">The config file (or "in-memory config").</param>
    /// <param name="problems">One line per offending key.</param>
    public ModelConfigException(string source, IReadOnlyList<string> problems)
        : base($"The model config '{source}' cannot be used: " + string.Join("; ", problems))
    {
        ConfigSource = source;
        Problems = problems;
    }

    /// <summary>The config file the problem was found in.</summary>
    public string ConfigSource { get; }

    /// <summary>Each problem, naming its key.</summary>
    public IReadOnlyList<string> Problems { get; }
}
