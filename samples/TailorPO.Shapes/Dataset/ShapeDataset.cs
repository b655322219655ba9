using static TorchSharp.torch;

namespace TailorPO.Shapes.Dataset;

/// <summary>Which combinations a <see cref="ShapeDataset"/> draws from.</summary>
public enum DatasetSplit
{
    /// <summary>Combinations the model is trained on.</summary>
    Training,

    /// <summary>Combinations never shown in training (<see cref="ShapeVocabulary.IsHeldOut"/>).</summary>
    HeldOut,
}

/// <summary>
/// The procedurally drawn captioned image set: scene <c>i</c> is a pure function of the seed and
/// <c>i</c> (shape, colours, texture, size, position and pattern phase), so the set is unbounded
/// and reproducible without storing an image.
/// </summary>
public sealed class ShapeDataset
{
    /// <summary>Smallest shape, pixels (bounding-box side) at 32 x 32.</summary>
    public const int MinimumSize = 10;

    /// <summary>Largest shape, pixels at 32 x 32.</summary>
    public const int MaximumSize = 20;

    /// <summary>Pixels kept free between the shape and the image border at 32 x 32.</summary>
    public const int Margin = 3;

    private readonly IReadOnlyList<(ShapeKind Shape, PaletteColor Color, PaletteColor Background)> _combinations;

    /// <summary>Creates the dataset.</summary>
    /// <param name="seed">Seed of every draw.</param>
    /// <param name="split">Training or held-out combinations.</param>
    /// <param name="side">Image side in pixels (the embedded model uses 32).</param>
    public ShapeDataset(long seed, DatasetSplit split = DatasetSplit.Training, int side = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 16);
        Seed = seed;
        Split = split;
        Side = side;
        _combinations = ShapeVocabulary.Combinations(split == DatasetSplit.HeldOut);
    }

    /// <summary>The seed.</summary>
    public long Seed { get; }

    /// <summary>The split.</summary>
    public DatasetSplit Split { get; }

    /// <summary>Image side in pixels.</summary>
    public int Side { get; }

    /// <summary>The (shape, colour, background colour) combinations of the split.</summary>
    public IReadOnlyList<(ShapeKind Shape, PaletteColor Color, PaletteColor Background)> Combinations => _combinations;

    /// <summary>Scene number <paramref name="index"/>.</summary>
    public ShapeScene Scene(long index)
    {
        var random = new SplitMix64(Seed, index);
        var (shape, color, background) = _combinations[random.NextInt(_combinations.Count)];
        var texture = ShapeVocabulary.Textures[random.NextInt(ShapeVocabulary.Textures.Count)];
        return Place(shape, color, texture, background, ref random);
    }

    /// <summary>A scene of a given combination, with size, position and pattern phase drawn from <paramref name="random"/>.</summary>
    public ShapeScene Place(ShapeKind shape, PaletteColor color, BackgroundTexture texture, PaletteColor background, ref SplitMix64 random)
    {
        var scale = Side / 32.0;
        var size = (float)(random.NextInt(MinimumSize, MaximumSize) * scale);
        var margin = (float)(Margin * scale);
        var low = margin + size / 2;
        var high = Side - margin - size / 2;
        var cx = (float)(low + random.NextDouble() * (high - low));
        var cy = (float)(low + random.NextDouble() * (high - low));
        var offset = random.NextInt(ShapeRenderer.PatternPeriod);
        return new ShapeScene(shape, color, texture, background, size, cx, cy, offset);
    }

    /// <summary>
    /// Draws scenes <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1 as
    /// a float32 batch [count, 3, side, side] in [-1, 1] (the pixel-space model's range), with their captions.
    /// </summary>
    public (Tensor Images, IReadOnlyList<string> Captions, IReadOnlyList<ShapeScene> Scenes) Batch(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var scenes = new ShapeScene[count];
        for (var i = 0; i < count; i++) scenes[i] = Scene(start + i);
        return (Render(scenes, Side), scenes.Select(s => s.Caption).ToList(), scenes);
    }

    /// <summary>Draws scenes as a float32 batch [B, 3, side, side] in [-1, 1].</summary>
    public static Tensor Render(IReadOnlyList<ShapeScene> scenes, int side)
    {
        ArgumentNullException.ThrowIfNull(scenes);
        var plane = side * side;
        var values = new float[scenes.Count * 3 * plane];
        for (var i = 0; i < scenes.Count; i++)
        {
            var rgb = ShapeRenderer.RenderRgb(scenes[i], side);
            var baseIndex = i * 3 * plane;
            for (var p = 0; p < plane; p++)
                for (var c = 0; c < 3; c++)
                    values[baseIndex + c * plane + p] = rgb[p * 3 + c] / 127.5f - 1f;
        }
        return tensor(values, new long[] { scenes.Count, 3, side, side }, ScalarType.Float32);
    }
}
