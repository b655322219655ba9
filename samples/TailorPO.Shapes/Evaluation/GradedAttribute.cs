namespace TailorPO.Shapes.Evaluation;

/// <summary>A per-image verdict the grade reports: one attribute of the caption, or all of them.</summary>
/// <param name="Name">Its name in tables and charts.</param>
/// <param name="IsRight">True when the image gets it right.</param>
public sealed record GradedAttribute(string Name, Func<FidelitySample, bool> IsRight)
{
    /// <summary>Shape, shape colour, background colour, pattern, and all four at once (GenEval's per-task and overall).</summary>
    public static readonly IReadOnlyList<GradedAttribute> All =
    [
        new("shape", s => s.ShapeMatches),
        new("shape colour", s => s.ColorMatches),
        new("background colour", s => s.BackgroundColorMatches),
        new("pattern", s => s.TextureMatches),
        new("all four", s => s.ShapeMatches && s.ColorMatches && s.BackgroundColorMatches && s.TextureMatches),
    ];
}
