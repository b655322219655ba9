using TailorPO.Shapes.Dataset;

namespace TailorPO.Shapes.Evaluation;

/// <summary>
/// Settings of a GenEval-style grade: which held-out captions, how many seeds each, and how images are sampled. The
/// seeds start at <see cref="FirstSeed"/>, apart from training's, align's reward evaluation's (100 000) and
/// <c>evaluate --reward</c>'s (200 000) and the reward-hacking guard's (300 000), so a graded image is one no other stage looked at
/// and the guard cannot pick adapters on the images that grade them.
/// </summary>
public sealed record AttributeGradeOptions
{
    /// <summary>The default first seed.</summary>
    public const long DefaultFirstSeed = 400_000;

    /// <summary>Held-out captions (spread over the held-out combinations; patterns cycled).</summary>
    public int Captions { get; init; } = 24;

    /// <summary>Seeds per caption (every caption is drawn with each seed).</summary>
    public int SeedsPerCaption { get; init; } = 8;

    /// <summary>The first seed; seed k draws all captions in one pipeline call.</summary>
    public long FirstSeed { get; init; } = DefaultFirstSeed;

    /// <summary>DDIM steps.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>CFG scale.</summary>
    public double GuidanceScale { get; init; } = 3.0;

    /// <summary>DDIM eta (1: the sampling the trainers use).</summary>
    public double Eta { get; init; } = 1.0;

    /// <summary>The problems of these settings, each a full sentence naming the setting as the caller calls it.</summary>
    /// <param name="captionsName">How the caller names <see cref="Captions"/> (a CLI option, say).</param>
    /// <param name="seedsName">How the caller names <see cref="SeedsPerCaption"/>.</param>
    public IEnumerable<string> Problems(string captionsName = "The grade's caption count", string seedsName = "The grade's seeds per caption")
    {
        var available = ShapeVocabulary.Combinations(heldOut: true).Count;
        if (Captions < 1 || Captions > available) yield return $"{captionsName} must lie in [1, {available}] (the held-out combinations); got {Captions}.";
        if (SeedsPerCaption < 2 || SeedsPerCaption > 1000) yield return $"{seedsName} must lie in [2, 1000] (diversity needs two); got {SeedsPerCaption}.";
        if (Steps < 1) yield return $"The grade's DDIM steps must be positive; got {Steps}.";
        if (!double.IsFinite(GuidanceScale) || GuidanceScale < 1) yield return $"The grade's CFG scale must be at least 1; got {GuidanceScale}.";
        if (!double.IsFinite(Eta) || Eta < 0) yield return $"The grade's eta must be non-negative; got {Eta}.";
    }

    /// <summary>
    /// The graded scenes: <see cref="Captions"/> held-out combinations taken at an even stride, each with a pattern
    /// cycled over the textures (size and position are not part of a caption and are left at zero).
    /// </summary>
    public IReadOnlyList<ShapeScene> Scenes()
    {
        var combinations = ShapeVocabulary.Combinations(heldOut: true);
        var count = Math.Clamp(Captions, 1, combinations.Count);
        var stride = combinations.Count / (double)count;
        return Enumerable.Range(0, count).Select(i =>
        {
            var (shape, color, background) = combinations[(int)(i * stride)];
            var texture = ShapeVocabulary.Textures[i % ShapeVocabulary.Textures.Count];
            return new ShapeScene(shape, color, texture, background, 0, 0, 0, 0);
        }).ToList();
    }
}
