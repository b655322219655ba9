namespace TailorPO.Shapes.Dataset;

/// <summary>An attribute a caption names.</summary>
public enum SceneAttribute
{
    /// <summary>The shape (circle, square, triangle, cross).</summary>
    Shape,

    /// <summary>The shape's colour.</summary>
    ShapeColor,

    /// <summary>The background's colour.</summary>
    BackgroundColor,

    /// <summary>The background's pattern (plain, striped, dotted, checkered).</summary>
    Pattern,
}

/// <summary>A scene with exactly one attribute changed, and its caption.</summary>
/// <param name="Attribute">The attribute that differs from the original scene.</param>
/// <param name="Scene">The changed scene (same size, position and pattern phase).</param>
public sealed record CaptionVariant(SceneAttribute Attribute, ShapeScene Scene)
{
    /// <summary>The changed scene's caption.</summary>
    public string Caption => Scene.Caption;

    /// <summary>True when the changed scene is one the dataset could draw (the shape stands out from its background).</summary>
    public bool IsDrawable => ShapeVocabulary.IsDrawable(Scene.Color, Scene.Background);
}

/// <summary>
/// The one-attribute-off captions of a scene: every caption that differs from the scene's own in exactly
/// one attribute (3 other shapes, 7 other shape colours, 7 other background colours, 3 other patterns:
/// 20 in all). They are the hard negatives the embedded preference model is trained against, and what
/// its retrieval report scores the true caption against.
/// </summary>
public static class CaptionVariants
{
    /// <summary>The attributes, in report order.</summary>
    public static readonly IReadOnlyList<SceneAttribute> Attributes = Enum.GetValues<SceneAttribute>();

    /// <summary>The name of an attribute in reports ("shape", "shape colour", ...).</summary>
    public static string Name(SceneAttribute attribute) => attribute switch
    {
        SceneAttribute.Shape => "shape",
        SceneAttribute.ShapeColor => "shape colour",
        SceneAttribute.BackgroundColor => "background colour",
        SceneAttribute.Pattern => "pattern",
        _ => throw new ArgumentOutOfRangeException(nameof(attribute), attribute, "Unknown attribute."),
    };

    /// <summary>Every one-attribute-off variant of <paramref name="scene"/>, grouped by attribute in <see cref="Attributes"/> order.</summary>
    public static IReadOnlyList<CaptionVariant> For(ShapeScene scene)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var variants = new List<CaptionVariant>(20);
        foreach (var attribute in Attributes) variants.AddRange(For(scene, attribute));
        return variants;
    }

    /// <summary>The variants of <paramref name="scene"/> that change <paramref name="attribute"/> only.</summary>
    public static IReadOnlyList<CaptionVariant> For(ShapeScene scene, SceneAttribute attribute)
    {
        ArgumentNullException.ThrowIfNull(scene);
        return attribute switch
        {
            SceneAttribute.Shape => ShapeVocabulary.Shapes.Where(s => s != scene.Shape)
                .Select(s => new CaptionVariant(attribute, scene with { Shape = s })).ToList(),
            SceneAttribute.ShapeColor => ShapeVocabulary.Colors.Where(c => c.Name != scene.Color.Name)
                .Select(c => new CaptionVariant(attribute, scene with { Color = c })).ToList(),
            SceneAttribute.BackgroundColor => ShapeVocabulary.Colors.Where(c => c.Name != scene.Background.Name)
                .Select(c => new CaptionVariant(attribute, scene with { Background = c })).ToList(),
            SceneAttribute.Pattern => ShapeVocabulary.Textures.Where(t => t != scene.Texture)
                .Select(t => new CaptionVariant(attribute, scene with { Texture = t })).ToList(),
            _ => throw new ArgumentOutOfRangeException(nameof(attribute), attribute, "Unknown attribute."),
        };
    }

    /// <summary>
    /// Every caption the template can say (4 shapes x 8 colours x 4 patterns x 8 background colours, drawable
    /// or not), in a fixed order, with the scene it names (size and position irrelevant).
    /// </summary>
    public static IReadOnlyList<ShapeScene> AllCaptionScenes() =>
        (from shape in ShapeVocabulary.Shapes
         from color in ShapeVocabulary.Colors
         from texture in ShapeVocabulary.Textures
         from background in ShapeVocabulary.Colors
         select new ShapeScene(shape, color, texture, background, 0, 0, 0, 0)).ToList();
}
