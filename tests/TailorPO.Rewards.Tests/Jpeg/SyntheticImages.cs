namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>Deterministic test images as channel-planar RGB bytes ([3, H, W]).</summary>
internal static class SyntheticImages
{
    /// <summary>A smooth image: low-frequency waves that differ per channel.</summary>
    public static byte[] Smooth(int height, int width)
    {
        var rgb = new byte[3 * height * width];
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var v = 128 + 90 * Math.Sin(0.07 * x * (c + 1) + 0.05 * y) * Math.Cos(0.04 * y - 0.3 * c);
            rgb[(c * height + y) * width + x] = (byte)Math.Clamp(Math.Round(v), 0, 255);
        }
        return rgb;
    }

    /// <summary>Uniform noise from a seeded generator.</summary>
    public static byte[] Noise(int height, int width, int seed)
    {
        var rgb = new byte[3 * height * width];
        new Random(seed).NextBytes(rgb);
        return rgb;
    }

    /// <summary>One colour everywhere.</summary>
    public static byte[] Flat(int height, int width, byte r, byte g, byte b)
    {
        var rgb = new byte[3 * height * width];
        var n = height * width;
        rgb.AsSpan(0, n).Fill(r);
        rgb.AsSpan(n, n).Fill(g);
        rgb.AsSpan(2 * n, n).Fill(b);
        return rgb;
    }
}
