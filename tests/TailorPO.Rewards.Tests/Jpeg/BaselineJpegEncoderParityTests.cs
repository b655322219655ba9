using TailorPO.Rewards.Jpeg;
using Xunit.Abstractions;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>
/// The managed encoder against Pillow 9.4 / libjpeg at quality 95 (the fixture's jpeg_kb):
/// every size within 2%, the same order of images by size, and the exact byte counts.
/// </summary>
public sealed class BaselineJpegEncoderParityTests(ITestOutputHelper output)
{
    private readonly BaselineJpegEncoder _encoder = new();

    [Fact]
    public void EverySizeIsWithinTwoPercentOfPillows()
    {
        var worst = 0.0;
        foreach (var c in JpegFixture.Load())
        {
            var bytes = _encoder.GetEncodedLength(c.RgbPlanar, c.Height, c.Width);
            var relative = Math.Abs(bytes / 1000.0 - c.ExpectedKilobytes) / c.ExpectedKilobytes;
            worst = Math.Max(worst, relative);
            output.WriteLine($"{c.Name,-24} ours {bytes,7} B  Pillow {c.ExpectedKilobytes * 1000,9:F0} B  rel. error {relative:P3}");
            Assert.True(relative <= 0.02, $"{c.Name}: {bytes} bytes vs Pillow's {c.ExpectedKilobytes} kB ({relative:P2} off, limit 2%).");
        }
        output.WriteLine($"worst relative error {worst:P4}");
    }

    [Fact]
    public void ByteCountsEqualPillowsExactly()
    {
        var mismatches = JpegFixture.Load()
            .Select(c => (c.Name, Ours: _encoder.GetEncodedLength(c.RgbPlanar, c.Height, c.Width), Pillow: c.ExpectedBytes))
            .Where(r => r.Ours != r.Pillow)
            .Select(r => $"{r.Name}: {r.Ours} vs {r.Pillow} ({r.Ours - r.Pillow:+#;-#;0} bytes)")
            .ToList();
        Assert.True(mismatches.Count == 0, "Byte counts differ from Pillow's: " + string.Join("; ", mismatches));
    }

    [Fact]
    public void ImagesSortBySizeInPillowsOrder()
    {
        var cases = JpegFixture.Load();
        var ours = cases.Select(c => (c.Name, Size: (double)_encoder.GetEncodedLength(c.RgbPlanar, c.Height, c.Width))).ToList();
        var expectedOrder = cases.OrderBy(c => c.ExpectedKilobytes).ThenBy(c => c.Name, StringComparer.Ordinal).Select(c => c.Name).ToList();
        var actualOrder = ours.OrderBy(r => r.Size).ThenBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Name).ToList();
        Assert.Equal(expectedOrder, actualOrder);
    }
}
