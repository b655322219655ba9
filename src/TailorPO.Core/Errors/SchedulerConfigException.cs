namespace TailorPO.Core.Errors;

/// <summary>
/// A diffusers <c>scheduler_config.json</c> holds a value the library cannot use: an unknown
/// <c>beta_schedule</c>, a <c>prediction_type</c> other than <c>epsilon</c>, a key of the wrong type,
/// or a value out of range. The message names the key and the file.
/// </summary>
public sealed class SchedulerConfigException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The configuration key, e.g. <c>beta_schedule</c>.</param>
    /// <param name="source">The file (or other source) the configuration came from.</param>
    /// <param name="problem">What is wrong and what is expected.</param>
    public SchedulerConfigException(string key, string source, string problem)
        : base($"Scheduler config '{source}', key '{key}': {problem}")
    {
        Key = key;
        ConfigSource = source;
    }

    /// <summary>The offending configuration key.</summary>
    public string Key { get; }

    /// <summary>The file (or other source) the configuration came from.</summary>
    public string ConfigSource { get; }
}
