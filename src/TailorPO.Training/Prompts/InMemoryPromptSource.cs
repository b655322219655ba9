namespace TailorPO.Training.Prompts;

/// <summary>Prompts given in code.</summary>
public sealed class InMemoryPromptSource : IPromptSource
{
    /// <summary>Creates the source.</summary>
    /// <exception cref="ArgumentException">No prompt, or an empty / whitespace prompt.</exception>
    public InMemoryPromptSource(IEnumerable<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var list = prompts.ToList();
        if (list.Count == 0) throw new ArgumentException("A prompt source needs at least one prompt.", nameof(prompts));
        var blank = list.FindIndex(string.IsNullOrWhiteSpace);
        if (blank >= 0) throw new ArgumentException($"Prompt {blank} is empty.", nameof(prompts));
        Prompts = list;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Prompts { get; }
}
