using TailorPO.Shapes.Dataset;

namespace TailorPO.Shapes.Evaluation;

/// <summary>What <see cref="SceneMeasurer"/> read off one image.</summary>
/// <param name="ShapeColor">Dominant colour of the foreground object (palette name); null when no object was found.</param>
/// <param name="Shape">Shape class of the object; null when no object was found.</param>
/// <param name="BackgroundColor">Dominant background colour (palette name, tints counted as their base colour).</param>
/// <param name="Texture">Background pattern.</param>
/// <param name="ObjectPixels">Pixels in the object mask.</param>
/// <param name="FillRatio">Object area / bounding-box area (circle ~0.79, square 1, triangle and cross ~0.5-0.56).</param>
/// <param name="CentroidHeight">Vertical position of the object's centroid in its bounding box, 0 top .. 1 bottom (triangle ~0.6).</param>
public sealed record SceneMeasurement(
    string? ShapeColor,
    ShapeKind? Shape,
    string BackgroundColor,
    BackgroundTexture Texture,
    int ObjectPixels,
    double FillRatio,
    double CentroidHeight);
