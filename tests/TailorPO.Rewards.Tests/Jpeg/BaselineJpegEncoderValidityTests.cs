using SkiaSharp;
using TailorPO.Rewards.Jpeg;
using Xunit.Abstractions;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>
/// The encoder writes valid baseline JPEG files: an independent decoder (SkiaSharp / libjpeg-turbo)
/// reads them back at the right size and close to the input, including sizes that are not a
/// multiple of the 16x16 MCU (edge padding and dummy blocks), and the header carries the
/// Annex K tables.
/// </summary>
public sealed class BaselineJpegEncoderValidityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(96, 128)]
    [InlineData(37, 53)]
    [InlineData(17, 9)]
    [InlineData(8, 24)]
    [InlineData(1, 1)]
    [InlineData(2, 31)]
    public void SmoothImagesDecodeAtTheirSizeAbove35DbPsnr(int height, int width)
    {
        var rgb = SyntheticImages.Smooth(height, width);
        var jpeg = new BaselineJpegEncoder().Encode(rgb, height, width);

        using var decoded = SKBitmap.Decode(jpeg);
        Assert.NotNull(decoded);
        Assert.Equal(width, decoded.Width);
        Assert.Equal(height, decoded.Height);
        var psnr = Psnr(rgb, decoded);
        output.WriteLine($"{height}x{width}: {jpeg.Length} bytes, PSNR {psnr:F2} dB");
        Assert.True(psnr > 35, $"PSNR {psnr:F2} dB at quality 95 on a smooth {height}x{width} image; expected > 35 dB.");
    }

    [Fact]
    public void FlatColourDecodesToThatColour()
    {
        var rgb = SyntheticImages.Flat(40, 24, 200, 30, 90);
        using var decoded = SKBitmap.Decode(new BaselineJpegEncoder().Encode(rgb, 40, 24));
        Assert.NotNull(decoded);
        for (var y = 0; y < decoded.Height; y += 7)
        for (var x = 0; x < decoded.Width; x += 5)
        {
            var p = decoded.GetPixel(x, y);
            Assert.InRange(p.Red, 197, 203);
            Assert.InRange(p.Green, 27, 33);
            Assert.InRange(p.Blue, 87, 93);
        }
    }

    [Fact]
    public void EveryFixtureImageDecodesAtItsSize()
    {
        var encoder = new BaselineJpegEncoder();
        foreach (var c in JpegFixture.Load())
        {
            using var decoded = SKBitmap.Decode(encoder.Encode(c.RgbPlanar, c.Height, c.Width));
            Assert.NotNull(decoded);
            Assert.Equal((c.Width, c.Height), (decoded.Width, decoded.Height));
        }
    }

    [Fact]
    public void SegmentsComeInLibjpegsOrderWithTheImageSize()
    {
        var jpeg = new BaselineJpegEncoder().Encode(SyntheticImages.Noise(21, 35, seed: 3), 21, 35);
        var segments = Segments(jpeg);

        Assert.Equal(
            ["SOI", "APP0", "DQT", "DQT", "SOF0", "DHT", "DHT", "DHT", "DHT", "SOS", "EOI"],
            segments.Select(s => s.Name).ToArray());
        var app0 = segments.Single(s => s.Name == "APP0").Payload;
        Assert.Equal("JFIF\0"u8.ToArray(), app0[..5]);
        var sof = segments.Single(s => s.Name == "SOF0").Payload;
        Assert.Equal(8, sof[0]);
        Assert.Equal(21, sof[1] << 8 | sof[2]);
        Assert.Equal(35, sof[3] << 8 | sof[4]);
        Assert.Equal(3, sof[5]);
        Assert.Equal([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], sof[6..]);
        // DHT class/id bytes: DC0, AC0, DC1, AC1.
        Assert.Equal([0x00, 0x10, 0x01, 0x11], segments.Where(s => s.Name == "DHT").Select(s => s.Payload[0]).ToArray());
    }

    [Fact]
    public void AtQuality50TheTablesAreAnnexKAndQuality95ScalesThemToTenPercent()
    {
        // Table K.1 in the zig-zag order a DQT segment lists it (T.81 Annex K.1).
        byte[] annexK1ZigZag =
        [
            16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
            26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
            56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
            95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
        ];
        var rgb = SyntheticImages.Smooth(16, 16);
        var tables50 = Segments(new BaselineJpegEncoder(50).Encode(rgb, 16, 16)).Where(s => s.Name == "DQT").ToList();
        var tables95 = Segments(new BaselineJpegEncoder(95).Encode(rgb, 16, 16)).Where(s => s.Name == "DQT").ToList();

        Assert.Equal(0, tables50[0].Payload[0]);
        Assert.Equal(annexK1ZigZag, tables50[0].Payload[1..]);
        Assert.Equal(1, tables50[1].Payload[0]);
        for (var t = 0; t < 2; t++)
        {
            // IJG scaling at quality 95: 200 - 2 * 95 = 10 percent, rounded, at least 1.
            var expected = tables50[t].Payload[1..].Select(q => (byte)Math.Max(1, (q * 10 + 50) / 100)).ToArray();
            Assert.Equal(expected, tables95[t].Payload[1..]);
        }
    }

    [Fact]
    public void EntropyCodedDataStuffsEveryFfByte()
    {
        var jpeg = new BaselineJpegEncoder().Encode(SyntheticImages.Noise(64, 64, seed: 11), 64, 64);
        var sos = Segments(jpeg).Single(s => s.Name == "SOS");
        var dataStart = sos.Offset + 4 + sos.Payload.Length;
        var ffCount = 0;
        for (var i = dataStart; i < jpeg.Length - 2; i++)
        {
            if (jpeg[i] != 0xFF) continue;
            ffCount++;
            Assert.True(jpeg[i + 1] == 0x00, $"0xFF at offset {i} is followed by 0x{jpeg[i + 1]:X2}, not a stuffed 0x00.");
            i++;
        }
        Assert.True(ffCount > 0, "Noise at quality 95 should produce some 0xFF data bytes to check.");
    }

    [Fact]
    public void EncodeAndLengthAgree()
    {
        var encoder = new BaselineJpegEncoder();
        var rgb = SyntheticImages.Noise(33, 47, seed: 5);
        Assert.Equal(encoder.Encode(rgb, 33, 47).Length, encoder.GetEncodedLength(rgb, 33, 47));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void QualityOutside1To100IsRejected(int quality)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BaselineJpegEncoder(quality));
        Assert.Equal("quality", ex.ParamName);
    }

    [Fact]
    public void DataLengthMustMatchTheSize()
    {
        var ex = Assert.Throws<ArgumentException>(() => new BaselineJpegEncoder().GetEncodedLength(new byte[3 * 10 * 10 - 1], 10, 10));
        Assert.Equal("rgbPlanar", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BaselineJpegEncoder().GetEncodedLength([], 0, 10));
    }

    private static double Psnr(byte[] rgbPlanar, SKBitmap decoded)
    {
        var (h, w) = (decoded.Height, decoded.Width);
        double squared = 0;
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var p = decoded.GetPixel(x, y);
            squared += Square(p.Red - rgbPlanar[(0 * h + y) * w + x])
                     + Square(p.Green - rgbPlanar[(1 * h + y) * w + x])
                     + Square(p.Blue - rgbPlanar[(2 * h + y) * w + x]);
        }
        var mse = squared / (3.0 * h * w);
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    private static double Square(int v) => (double)v * v;

    private sealed record Segment(string Name, int Offset, byte[] Payload);

    // Walks the marker segments; after SOS, skips the entropy-coded data to the next marker.
    private static List<Segment> Segments(byte[] jpeg)
    {
        var names = new Dictionary<byte, string>
        {
            [0xD8] = "SOI", [0xE0] = "APP0", [0xDB] = "DQT", [0xC0] = "SOF0", [0xC4] = "DHT", [0xDA] = "SOS", [0xD9] = "EOI",
        };
        var result = new List<Segment>();
        var i = 0;
        while (i < jpeg.Length)
        {
            Assert.True(jpeg[i] == 0xFF, $"Expected a marker at offset {i}, found 0x{jpeg[i]:X2}.");
            var marker = jpeg[i + 1];
            var name = names.TryGetValue(marker, out var n) ? n : $"0x{marker:X2}";
            if (marker is 0xD8 or 0xD9)
            {
                result.Add(new Segment(name, i, []));
                i += 2;
                if (marker == 0xD9) break;
                continue;
            }
            var length = jpeg[i + 2] << 8 | jpeg[i + 3];
            result.Add(new Segment(name, i, jpeg[(i + 4)..(i + 2 + length)]));
            i += 2 + length;
            if (marker == 0xDA)
            {
                while (!(jpeg[i] == 0xFF && jpeg[i + 1] != 0x00)) i++;
            }
        }
        Assert.Equal(jpeg.Length, i);
        return result;
    }
}
