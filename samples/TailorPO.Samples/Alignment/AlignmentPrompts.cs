using TailorPO.Shapes.Dataset;
using TailorPO.Training.Prompts;

namespace TailorPO.Samples.Alignment;

/// <summary>
/// The prompts <c>align</c> trains and evaluates on. For the embedded model: captions of the training split of its shape
/// vocabulary, and captions of combinations it never saw for evaluation. For any other model: the built-in animal
/// prompts, the last five held out for evaluation. A <c>--prompts</c> file replaces the training prompts.
/// </summary>
public static class AlignmentPrompts
{
    /// <summary>How many held-out prompts the evaluation uses.</summary>
    public const int EvaluationPromptCount = 6;

    /// <summary>The training prompts.</summary>
    public static IReadOnlyList<string> Training(bool embeddedModel, string? promptFile)
    {
        if (promptFile is not null) return new TextFilePromptSource(promptFile).Prompts;
        if (!embeddedModel) return new AnimalPromptSource().Prompts.SkipLast(5).ToList();
        return Captions(heldOut: false);
    }

    /// <summary>The held-out evaluation prompts.</summary>
    public static IReadOnlyList<string> Evaluation(bool embeddedModel)
    {
        if (!embeddedModel) return new AnimalPromptSource().Prompts.TakeLast(5).Select(a => $"a photo of a {a}").ToList();
        var captions = Captions(heldOut: true);
        // Spread over the list so shapes, colours and textures vary.
        var stride = Math.Max(1, captions.Count / EvaluationPromptCount);
        return Enumerable.Range(0, EvaluationPromptCount).Select(i => captions[(i * stride) % captions.Count]).ToList();
    }

    private static List<string> Captions(bool heldOut) =>
        ShapeVocabulary.Combinations(heldOut)
            .Select((c, i) => ShapeVocabulary.Caption(c.Shape, c.Color, ShapeVocabulary.Textures[i % ShapeVocabulary.Textures.Count], c.Background))
            .ToList();
}
