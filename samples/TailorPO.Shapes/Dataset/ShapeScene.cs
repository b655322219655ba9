namespace TailorPO.Shapes.Dataset;

/// <summary>One drawn picture: a filled shape on a plain or textured background.</summary>
/// <param name="Shape">The shape.</param>
/// <param name="Color">The shape's colour.</param>
/// <param name="Texture">The background pattern.</param>
/// <param name="Background">The background's colour (the pattern uses its <see cref="PaletteColor.Tint"/>).</param>
/// <param name="Size">Side of the shape's bounding box, pixels.</param>
/// <param name="CenterX">Horizontal centre of the shape, pixels.</param>
/// <param name="CenterY">Vertical centre of the shape, pixels.</param>
/// <param name="PatternOffset">Phase of the background pattern, pixels (0 .. period - 1).</param>
public sealed record ShapeScene(
    ShapeKind Shape,
    PaletteColor Color,
    BackgroundTexture Texture,
    PaletteColor Background,
    float Size,
    float CenterX,
    float CenterY,
    int PatternOffset)
{
    /// <summary>The caption of the scene ("a red circle on a striped blue background").</summary>
    public string Caption => ShapeVocabulary.Caption(Shape, Color, Texture, Background);
}
