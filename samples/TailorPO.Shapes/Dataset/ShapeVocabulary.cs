namespace TailorPO.Shapes.Dataset;

/// <summary>A shape the dataset draws.</summary>
public enum ShapeKind
{
    /// <summary>A filled disc.</summary>
    Circle,

    /// <summary>A filled axis-aligned square.</summary>
    Square,

    /// <summary>A filled isosceles triangle, apex up.</summary>
    Triangle,

    /// <summary>A plus sign with arms a third of its size thick.</summary>
    Cross,
}

/// <summary>How the background is painted: one colour, or the colour with a lighter (or darker) pattern.</summary>
public enum BackgroundTexture
{
    /// <summary>One flat colour.</summary>
    Plain,

    /// <summary>Horizontal stripes of the tint, one row in three.</summary>
    Striped,

    /// <summary>A grid of small dots of the tint.</summary>
    Dotted,

    /// <summary>A checkerboard of the colour and its tint.</summary>
    Checkered,
}

/// <summary>A named colour of the palette (sRGB bytes).</summary>
/// <param name="Name">The word used in captions.</param>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
public sealed record PaletteColor(string Name, byte R, byte G, byte B)
{
    /// <summary>The colour as floats in [0, 1].</summary>
    public (double R, double G, double B) Unit => (R / 255.0, G / 255.0, B / 255.0);

    /// <summary>
    /// The second tone of a textured background: light colours are darkened by 35%, the others
    /// lightened towards white by 45%, so the pattern is visible on every colour.
    /// </summary>
    public PaletteColor Tint()
    {
        var luma = (0.299 * R + 0.587 * G + 0.114 * B) / 255.0;
        return luma > 0.6
            ? new PaletteColor(Name, Mix(R, 0, 0.35), Mix(G, 0, 0.35), Mix(B, 0, 0.35))
            : new PaletteColor(Name, Mix(R, 255, 0.45), Mix(G, 255, 0.45), Mix(B, 255, 0.45));
    }

    /// <summary>Euclidean distance in RGB, units of [0, 1] per channel.</summary>
    public double DistanceTo(PaletteColor other) => Distance(Unit, other.Unit);

    /// <summary>Euclidean distance between two RGB triples in [0, 1].</summary>
    public static double Distance((double R, double G, double B) a, (double R, double G, double B) b) =>
        Math.Sqrt((a.R - b.R) * (a.R - b.R) + (a.G - b.G) * (a.G - b.G) + (a.B - b.B) * (a.B - b.B));

    private static byte Mix(byte from, byte to, double amount) => (byte)Math.Round(from + (to - from) * amount);
}

/// <summary>
/// The words and colours of the captioned shape dataset, the caption template, and the held-out
/// split of (shape, colour, background colour) combinations used to measure caption fidelity.
/// </summary>
public static class ShapeVocabulary
{
    /// <summary>The palette, used for both the shape and the background.</summary>
    public static readonly IReadOnlyList<PaletteColor> Colors =
    [
        new("red", 220, 30, 30),
        new("orange", 255, 140, 0),
        new("yellow", 250, 220, 20),
        new("green", 30, 160, 50),
        new("blue", 30, 70, 220),
        new("purple", 140, 40, 180),
        new("white", 245, 245, 245),
        new("black", 15, 15, 15),
    ];

    /// <summary>The shapes.</summary>
    public static readonly IReadOnlyList<ShapeKind> Shapes = Enum.GetValues<ShapeKind>();

    /// <summary>The background textures.</summary>
    public static readonly IReadOnlyList<BackgroundTexture> Textures = Enum.GetValues<BackgroundTexture>();

    /// <summary>
    /// A shape colour must lie at least this far (RGB distance, [0, 1] units) from both tones of its
    /// background, or the pair is never drawn (e.g. a yellow shape on white, whose tint is grey-yellow).
    /// </summary>
    public const double MinimumContrast = 0.35;

    /// <summary>
    /// Every (shape, colour, background colour) whose indices sum to a multiple of 5 is held out
    /// of training (all four textures with it), about a fifth of the drawable combinations; each
    /// word still appears in training in other combinations.
    /// </summary>
    public const int HoldOutModulus = 5;

    /// <summary>The caption word of a shape.</summary>
    public static string Word(ShapeKind shape) => shape.ToString().ToLowerInvariant();

    /// <summary>The caption word of a texture.</summary>
    public static string Word(BackgroundTexture texture) => texture.ToString().ToLowerInvariant();

    /// <summary>Looks a colour up by name (case-insensitive); null when unknown.</summary>
    public static PaletteColor? FindColor(string name) =>
        Colors.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The caption template: "a red circle on a striped blue background" ("an" before a vowel).</summary>
    public static string Caption(ShapeKind shape, PaletteColor color, BackgroundTexture texture, PaletteColor background) =>
        $"{Article(color.Name)} {color.Name} {Word(shape)} on a {Word(texture)} {background.Name} background";

    private static string Article(string word) => "aeiou".Contains(word[0], StringComparison.Ordinal) ? "an" : "a";

    /// <summary>True when the shape colour stands out from both tones of the background.</summary>
    public static bool IsDrawable(PaletteColor color, PaletteColor background) =>
        color.Name != background.Name
        && color.DistanceTo(background) >= MinimumContrast
        && color.DistanceTo(background.Tint()) >= MinimumContrast;

    /// <summary>True when the combination belongs to the held-out (evaluation) split.</summary>
    public static bool IsHeldOut(ShapeKind shape, PaletteColor color, PaletteColor background) =>
        ((int)shape + IndexOf(color) + IndexOf(background)) % HoldOutModulus == 0;

    /// <summary>Every drawable (shape, colour, background colour), in a fixed order.</summary>
    public static IReadOnlyList<(ShapeKind Shape, PaletteColor Color, PaletteColor Background)> DrawableCombinations() =>
        (from shape in Shapes
         from color in Colors
         from background in Colors
         where IsDrawable(color, background)
         select (shape, color, background)).ToList();

    /// <summary>The drawable combinations of one split.</summary>
    public static IReadOnlyList<(ShapeKind Shape, PaletteColor Color, PaletteColor Background)> Combinations(bool heldOut) =>
        DrawableCombinations().Where(c => IsHeldOut(c.Shape, c.Color, c.Background) == heldOut).ToList();

    /// <summary>The index of a palette colour.</summary>
    public static int IndexOf(PaletteColor color)
    {
        for (var i = 0; i < Colors.Count; i++)
            if (Colors[i].Name == color.Name) return i;
        throw new ArgumentException($"'{color.Name}' is not a palette colour.", nameof(color));
    }
}
