using System.Text;
using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// A checkpoint does not fit a module: every missing, unexpected and mis-shaped key, and every value
/// that cannot be used (a NaN or infinite weight, a non-positive LoRA alpha), is listed in one message,
/// so a wrong file or config is diagnosed in one go.
/// </summary>
public sealed class StateDictMismatchException : TailorPOException
{
    /// <summary>Creates the exception.</summary>
    public StateDictMismatchException(string source, string moduleName,
        IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misShaped)
        : this(source, moduleName, missing, unexpected, misShaped, [])
    {
    }

    /// <summary>Creates the exception, with values that have the right shape but cannot be used.</summary>
    public StateDictMismatchException(string source, string moduleName,
        IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misShaped, IReadOnlyList<string> invalidValues)
        : base(Describe(source, moduleName, missing, unexpected, misShaped, invalidValues))
    {
        Source = source;
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        MisShapedKeys = misShaped;
        InvalidValues = invalidValues;
    }

    /// <summary>Where the weights came from (usually a file path).</summary>
    public new string Source { get; }

    /// <summary>Keys the module needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Keys in the checkpoint the module does not have.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Keys whose shapes differ, each as "key: checkpoint [..] vs module [..]".</summary>
    public IReadOnlyList<string> MisShapedKeys { get; }

    /// <summary>Values of the right shape that cannot be used, each as "key: what is wrong" (NaN/infinite weights, a bad LoRA alpha).</summary>
    public IReadOnlyList<string> InvalidValues { get; }

    private static string Describe(string source, string moduleName,
        IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misShaped, IReadOnlyList<string> invalid)
    {
        var text = new StringBuilder();
        text.Append($"The weights in '{source}' do not fit {moduleName}: ");
        text.Append($"{missing.Count} missing, {unexpected.Count} unexpected, {misShaped.Count} with the wrong shape");
        if (invalid.Count > 0) text.Append($", {invalid.Count} with invalid values");
        text.Append(". ");
        text.Append(missing.Count + unexpected.Count + misShaped.Count > 0
            ? "Check that the file belongs to this model and that config.json matches it."
            : "The file is damaged or was saved from a diverged run.");
        Append(text, "Missing", missing);
        Append(text, "Unexpected", unexpected);
        Append(text, "Wrong shape", misShaped);
        Append(text, "Invalid values", invalid);
        return text.ToString();
    }

    private static void Append(StringBuilder text, string title, IReadOnlyList<string> keys)
    {
        if (keys.Count == 0) return;
        text.Append($"\n{title} ({keys.Count}):");
        foreach (var key in keys) text.Append("\n  ").Append(key);
    }
}
