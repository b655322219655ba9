using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tasks;

/// <summary>Reads a prompts file: one prompt per line; blank lines and lines starting with <c>#</c> are skipped.</summary>
internal static class PromptFile
{
    /// <summary>The prompts of <paramref name="path"/>.</summary>
    /// <exception cref="LabelingException">The file is missing or holds no prompt.</exception>
    public static IReadOnlyList<string> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new LabelingException($"The prompts file '{Path.GetFullPath(path)}' does not exist; give one prompt per line with --prompts <file>.");
        var prompts = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (prompts.Count == 0)
            throw new LabelingException($"The prompts file '{Path.GetFullPath(path)}' holds no prompt; write one prompt per line (blank lines and lines starting with # are skipped).");
        return prompts;
    }
}
