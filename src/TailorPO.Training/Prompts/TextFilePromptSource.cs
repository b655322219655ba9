namespace TailorPO.Training.Prompts;

/// <summary>Prompts from a UTF-8 text file, one per line; blank lines and lines starting with '#' are skipped.</summary>
public sealed class TextFilePromptSource : IPromptSource
{
    /// <summary>Reads the file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file holds no prompt.</exception>
    public TextFilePromptSource(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The prompt file '{path}' does not exist.", path);
        Path = System.IO.Path.GetFullPath(path);
        Prompts = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (Prompts.Count == 0) throw new InvalidDataException($"The prompt file '{path}' holds no prompt (one per line; '#' starts a comment).");
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Prompts { get; }
}
