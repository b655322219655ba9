using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Shapes.Evaluation;

/// <summary>
/// Reads the caption attributes off an image with classical measures, no learned model:
/// <list type="number">
/// <item>Background tones: the 2-pixel border ring clustered into at most two colours (2-means); the
/// dataset keeps shapes away from the border, so the ring is background.</item>
/// <item>Object: pixels farther than <see cref="ForegroundDistance"/> from both tones, largest
/// 4-connected component.</item>
/// <item>Shape colour: majority vote of the object's inner pixels (edge pixels blend with the
/// background) over the palette by nearest colour.</item>
/// <item>Shape: fill ratio of the bounding box and the centroid's height (a triangle's mass sits low).</item>
/// <item>Background colour: majority vote of the non-object pixels over the palette and its tints
/// (a tint counts as its base colour).</item>
/// <item>Pattern: share of background pixels nearer the second tone, and how evenly rows and columns
/// mix the tones (stripes are uniform rows, checkers mix both ways, dots are sparse).</item>
/// </list>
/// </summary>
public static class SceneMeasurer
{
    /// <summary>RGB distance ([0, 1] units) beyond which a pixel is not background.</summary>
    public const double ForegroundDistance = 0.25;

    /// <summary>Smallest object, pixels, at 32 x 32 (the dataset's smallest is ~50).</summary>
    public const int MinimumObjectPixels = 8;

    private const int Ring = 2;

    /// <summary>Measures one image [3, H, W] in [0, 1] (any device/dtype).</summary>
    public static SceneMeasurement Measure(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"Expected one RGB image [3, H, W]; got [{string.Join(", ", image.shape)}].", nameof(image));
        using var scope = NewDisposeScope();
        var hwc = image.detach().to(ScalarType.Float32).cpu().clamp(0, 1).permute(1, 2, 0).contiguous();
        var values = hwc.data<float>().ToArray();
        return Measure(values, (int)image.shape[1], (int)image.shape[2]);
    }

    /// <summary>Measures an image given as row-major RGB floats in [0, 1] ([H, W, 3]).</summary>
    public static SceneMeasurement Measure(float[] rgb, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.Length != height * width * 3 || height < 2 * Ring + 4 || width < 2 * Ring + 4)
            throw new ArgumentException($"Expected {height} x {width} x 3 values (at least 8 x 8 pixels); got {rgb.Length}.", nameof(rgb));
        var pixels = new (double R, double G, double B)[height * width];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);

        var border = new List<(double R, double G, double B)>();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                if (y < Ring || y >= height - Ring || x < Ring || x >= width - Ring)
                    border.Add(pixels[y * width + x]);
        var tones = TwoMeans(border);

        // The object: far from every background tone, inside the ring, largest 4-connected component.
        var (mask, specks) = FindObject(pixels, tones, height, width);
        if (tones.Count == 1 && SpeckTone(pixels, specks, tones[0]) is { } second)
        {
            // A sparse pattern (dots) can miss the border ring: many small blobs of one colour reveal the second tone.
            tones.Add(second);
            (mask, _) = FindObject(pixels, tones, height, width);
        }
        var area = mask.Count(m => m);

        string? shapeColor = null;
        ShapeKind? shape = null;
        double fill = 0, centroid = 0;
        if (area >= MinimumObjectPixels)
        {
            shapeColor = DominantColor(pixels, mask, height, width);
            (shape, fill, centroid) = ClassifyShape(mask, height, width);
        }

        // Background: everything not in the object or next to it.
        var grown = Dilate(mask, height, width);
        var background = new List<int>();
        for (var i = 0; i < pixels.Length; i++)
            if (!grown[i]) background.Add(i);
        var backgroundColor = BackgroundColor(pixels, background);
        var texture = ClassifyTexture(pixels, background, tones, height, width);
        return new SceneMeasurement(shapeColor, shape, backgroundColor, texture, area, fill, centroid);
    }

    /// <summary>The palette colour nearest to an RGB value.</summary>
    public static PaletteColor NearestColor((double R, double G, double B) rgb) =>
        ShapeVocabulary.Colors.MinBy(c => PaletteColor.Distance(rgb, c.Unit))!;

    private static List<(double R, double G, double B)> TwoMeans(List<(double R, double G, double B)> samples)
    {
        // Start from the most common coarse colour and the sample farthest from it.
        var first = samples.GroupBy(Quantize).OrderByDescending(g => g.Count()).First().First();
        var second = samples.MaxBy(s => PaletteColor.Distance(s, first));
        var centers = new[] { first, second };
        for (var iteration = 0; iteration < 8; iteration++)
        {
            var sums = new (double R, double G, double B, int N)[2];
            foreach (var s in samples)
            {
                var k = PaletteColor.Distance(s, centers[0]) <= PaletteColor.Distance(s, centers[1]) ? 0 : 1;
                sums[k] = (sums[k].R + s.R, sums[k].G + s.G, sums[k].B + s.B, sums[k].N + 1);
            }
            for (var k = 0; k < 2; k++)
                if (sums[k].N > 0) centers[k] = (sums[k].R / sums[k].N, sums[k].G / sums[k].N, sums[k].B / sums[k].N);
        }
        return PaletteColor.Distance(centers[0], centers[1]) < 0.15 ? [centers[0]] : [.. centers];
    }

    private static (int, int, int) Quantize((double R, double G, double B) c) =>
        ((int)(c.R * 7.99), (int)(c.G * 7.99), (int)(c.B * 7.99));

    private static (bool[] Object, List<List<int>> Specks) FindObject((double R, double G, double B)[] pixels,
        List<(double R, double G, double B)> tones, int height, int width)
    {
        var candidate = new bool[pixels.Length];
        for (var y = Ring; y < height - Ring; y++)
            for (var x = Ring; x < width - Ring; x++)
            {
                var p = pixels[y * width + x];
                candidate[y * width + x] = tones.All(t => PaletteColor.Distance(p, t) > ForegroundDistance);
            }
        var components = Components(candidate, height, width);
        var mask = new bool[pixels.Length];
        if (components.Count == 0) return (mask, []);
        var largest = components.MaxBy(c => c.Count)!;
        foreach (var i in largest) mask[i] = true;
        return (mask, components.Where(c => !ReferenceEquals(c, largest)).ToList());
    }

    /// <summary>The common colour of small blobs when there are enough of them to be a pattern; null otherwise.</summary>
    private static (double R, double G, double B)? SpeckTone((double R, double G, double B)[] pixels, List<List<int>> specks,
        (double R, double G, double B) baseTone)
    {
        var small = specks.Where(c => c.Count <= 6).ToList();
        if (small.Count < 4) return null;
        var members = small.SelectMany(c => c).ToList();
        var mean = (members.Average(i => pixels[i].R), members.Average(i => pixels[i].G), members.Average(i => pixels[i].B));
        // One colour: most speck pixels lie near the mean.
        var near = members.Count(i => PaletteColor.Distance(pixels[i], mean) < ForegroundDistance);
        return near >= 0.8 * members.Count && PaletteColor.Distance(mean, baseTone) > 0.15 ? mean : null;
    }

    private static List<List<int>> Components(bool[] candidate, int height, int width)
    {
        var seen = new bool[candidate.Length];
        var components = new List<List<int>>();
        var stack = new Stack<int>();
        for (var start = 0; start < candidate.Length; start++)
        {
            if (!candidate[start] || seen[start]) continue;
            var component = new List<int>();
            stack.Push(start);
            seen[start] = true;
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                component.Add(i);
                foreach (var j in Neighbours(i / width, i % width, height, width))
                {
                    if (candidate[j] && !seen[j])
                    {
                        seen[j] = true;
                        stack.Push(j);
                    }
                }
            }
            components.Add(component);
        }
        return components;
    }

    private static IEnumerable<int> Neighbours(int y, int x, int height, int width)
    {
        if (y > 0) yield return (y - 1) * width + x;
        if (y < height - 1) yield return (y + 1) * width + x;
        if (x > 0) yield return y * width + x - 1;
        if (x < width - 1) yield return y * width + x + 1;
    }

    private static bool[] Dilate(bool[] mask, int height, int width)
    {
        var grown = (bool[])mask.Clone();
        for (var i = 0; i < mask.Length; i++)
            if (mask[i])
                foreach (var j in Neighbours(i / width, i % width, height, width)) grown[j] = true;
        return grown;
    }

    private static string DominantColor((double R, double G, double B)[] pixels, bool[] mask, int height, int width)
    {
        // Inner pixels (all four neighbours in the object) avoid the anti-aliased rim; thin objects keep every pixel.
        var inner = Enumerable.Range(0, mask.Length)
            .Where(i => mask[i] && Neighbours(i / width, i % width, height, width).Count(j => mask[j]) == 4).ToList();
        var voters = inner.Count >= 4 ? inner : Enumerable.Range(0, mask.Length).Where(i => mask[i]).ToList();
        return voters.GroupBy(i => NearestColor(pixels[i]).Name).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
    }

    private static (ShapeKind Shape, double Fill, double Centroid) ClassifyShape(bool[] mask, int height, int width)
    {
        int top = height, bottom = -1, left = width, right = -1, area = 0;
        double sumY = 0;
        for (var i = 0; i < mask.Length; i++)
        {
            if (!mask[i]) continue;
            int y = i / width, x = i % width;
            top = Math.Min(top, y);
            bottom = Math.Max(bottom, y);
            left = Math.Min(left, x);
            right = Math.Max(right, x);
            area++;
            sumY += y;
        }
        var boxHeight = bottom - top + 1;
        var fill = (double)area / (boxHeight * (right - left + 1));
        var centroid = (sumY / area - top + 0.5) / boxHeight;
        ShapeKind shape;
        if (centroid > 0.57) shape = ShapeKind.Triangle;
        else if (fill > 0.875) shape = ShapeKind.Square;
        else if (fill > 0.66) shape = ShapeKind.Circle;
        else shape = ShapeKind.Cross;
        return (shape, fill, centroid);
    }

    private static string BackgroundColor((double R, double G, double B)[] pixels, List<int> background)
    {
        if (background.Count == 0) return NearestColor(pixels[0]).Name;
        var palette = ShapeVocabulary.Colors.SelectMany(c => new[] { (c.Name, c.Unit), (c.Name, c.Tint().Unit) }).ToList();
        return background
            .GroupBy(i => palette.MinBy(p => PaletteColor.Distance(pixels[i], p.Unit)).Name)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
    }

    private static BackgroundTexture ClassifyTexture((double R, double G, double B)[] pixels, List<int> background,
        List<(double R, double G, double B)> tones, int height, int width)
    {
        if (tones.Count < 2 || background.Count == 0) return BackgroundTexture.Plain;
        var minorityTone = new bool[pixels.Length];
        var counts = new int[2];
        foreach (var i in background)
        {
            var k = PaletteColor.Distance(pixels[i], tones[0]) <= PaletteColor.Distance(pixels[i], tones[1]) ? 0 : 1;
            counts[k]++;
            minorityTone[i] = k == 1;
        }
        var minority = counts[1] <= counts[0] ? 1 : 0;
        if (minority == 0)
            foreach (var i in background) minorityTone[i] = !minorityTone[i];
        var fraction = (double)counts[minority] / background.Count;
        if (fraction < 0.04) return BackgroundTexture.Plain;

        var inBackground = new bool[pixels.Length];
        foreach (var i in background) inBackground[i] = true;
        double rowMix = Mix(height, width, inBackground, minorityTone, rows: true);
        double columnMix = Mix(height, width, inBackground, minorityTone, rows: false);
        if (columnMix - rowMix > 0.3) return BackgroundTexture.Striped;
        return fraction > 0.3 ? BackgroundTexture.Checkered : BackgroundTexture.Dotted;
    }

    /// <summary>Mean over rows (or columns) of 2 min(f, 1 - f), f the share of the minority tone in the line.</summary>
    private static double Mix(int height, int width, bool[] inBackground, bool[] minorityTone, bool rows)
    {
        int lines = rows ? height : width, length = rows ? width : height;
        double total = 0;
        var counted = 0;
        for (var a = 0; a < lines; a++)
        {
            int n = 0, m = 0;
            for (var b = 0; b < length; b++)
            {
                var i = rows ? a * width + b : b * width + a;
                if (!inBackground[i]) continue;
                n++;
                if (minorityTone[i]) m++;
            }
            if (n < length / 2) continue;
            var f = (double)m / n;
            total += 2 * Math.Min(f, 1 - f);
            counted++;
        }
        return counted == 0 ? 0 : total / counted;
    }
}
