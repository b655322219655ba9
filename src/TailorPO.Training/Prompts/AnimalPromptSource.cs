namespace TailorPO.Training.Prompts;

/// <summary>
/// Common animal names, the kind of prompt set the paper's and DDPO's experiments train and evaluate on
/// ("simple animals"). Our own list of 45 everyday animals.
/// </summary>
public sealed class AnimalPromptSource : IPromptSource
{
    private static readonly string[] Animals =
    [
        "cat", "dog", "horse", "cow", "pig", "sheep", "goat", "rabbit", "hamster", "mouse",
        "fox", "wolf", "bear", "deer", "squirrel", "raccoon", "owl", "eagle", "parrot", "penguin",
        "duck", "goose", "chicken", "swan", "frog", "turtle", "snake", "lizard", "fish", "shark",
        "dolphin", "whale", "octopus", "crab", "butterfly", "bee", "ladybug", "snail", "lion", "tiger",
        "elephant", "giraffe", "zebra", "monkey", "camel",
    ];

    /// <inheritdoc />
    public IReadOnlyList<string> Prompts => Animals;
}
