using TailorPO.Shapes.Dataset;

namespace TailorPO.Shapes.Evaluation;

/// <summary>One generated image: what its caption asked for and what was measured.</summary>
/// <param name="Scene">The caption's attributes (size and position unused).</param>
/// <param name="Seed">Seed of the generation batch.</param>
/// <param name="Measured">What <see cref="SceneMeasurer"/> read off the image.</param>
public sealed record FidelitySample(ShapeScene Scene, long Seed, SceneMeasurement Measured)
{
    /// <summary>The caption.</summary>
    public string Caption => Scene.Caption;

    /// <summary>The dominant foreground colour is the caption's shape colour.</summary>
    public bool ColorMatches => Measured.ShapeColor == Scene.Color.Name;

    /// <summary>The object's shape class is the caption's shape.</summary>
    public bool ShapeMatches => Measured.Shape == Scene.Shape;

    /// <summary>The background colour is the caption's.</summary>
    public bool BackgroundColorMatches => Measured.BackgroundColor == Scene.Background.Name;

    /// <summary>The background pattern is the caption's.</summary>
    public bool TextureMatches => Measured.Texture == Scene.Texture;

    /// <summary>Background colour and pattern both match.</summary>
    public bool BackgroundMatches => BackgroundColorMatches && TextureMatches;
}
