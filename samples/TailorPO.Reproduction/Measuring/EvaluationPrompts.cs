using TailorPO.Shapes.Dataset;

namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// The embedded model's prompts, as <c>align</c> uses them: training = captions of the training split of the shape
/// vocabulary, held out = captions of colour/shape/background combinations the model never saw.
/// </summary>
public static class EvaluationPrompts
{
    /// <summary>The training captions.</summary>
    public static IReadOnlyList<string> Training { get; } = Captions(heldOut: false);

    /// <summary>Every held-out caption.</summary>
    public static IReadOnlyList<string> HeldOut { get; } = Captions(heldOut: true);

    /// <summary><paramref name="count"/> entries spread over <paramref name="list"/> (so shapes, colours and textures vary), offset by <paramref name="offset"/>.</summary>
    public static IReadOnlyList<string> Spread(IReadOnlyList<string> list, int count, long offset = 0)
    {
        ArgumentNullException.ThrowIfNull(list);
        var stride = Math.Max(1, list.Count / Math.Max(1, count));
        return Enumerable.Range(0, count).Select(i => list[(int)((i * stride + offset) % list.Count)]).ToList();
    }

    private static List<string> Captions(bool heldOut) =>
        ShapeVocabulary.Combinations(heldOut)
            .Select((c, i) => ShapeVocabulary.Caption(c.Shape, c.Color, ShapeVocabulary.Textures[i % ShapeVocabulary.Textures.Count], c.Background))
            .ToList();
}
