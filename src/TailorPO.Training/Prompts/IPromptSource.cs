namespace TailorPO.Training.Prompts;

/// <summary>A fixed set of training prompts; <see cref="PromptCursor"/> walks it in a seeded order.</summary>
public interface IPromptSource
{
    /// <summary>The prompts (at least one).</summary>
    IReadOnlyList<string> Prompts { get; }
}
