using TailorPO.Rewards.Jpeg;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>
/// The encoder's TensorPrimitives stages against independent references, over every input they can see: the row
/// colour conversion against libjpeg's per-pixel fixed-point formulas for all 2^24 RGB triples, the block quantiser
/// against libjpeg's plain rounded division (and libjpeg-turbo's scalar reciprocal form) for every coefficient value
/// an 8-bit ISLOW DCT can produce. The float-to-byte pass (TailorPO.Core's PixelBytes) is tested in TailorPO.Core.Tests.
/// The Pillow fixture tests (BaselineJpegEncoderParityTests) check the assembled encoder.
/// </summary>
public sealed class JpegVectorisedStagesTests
{
    [Fact]
    public void RowConversionEqualsThePerPixelFormulasForEveryRgbTriple()
    {
        // One row per red value; its 65536 pixels take every (green, blue) pair.
        const int width = 256 * 256;
        var red = new byte[width];
        var green = new byte[width];
        var blue = new byte[width];
        for (var i = 0; i < width; i++)
        {
            green[i] = (byte)(i >> 8);
            blue[i] = (byte)i;
        }
        var luma = new byte[width];
        var cb = new byte[width];
        var cr = new byte[width];
        var scratch = new int[JpegColorConverter.RowScratchLength(width)];
        for (var r = 0; r < 256; r++)
        {
            Array.Fill(red, (byte)r);
            JpegColorConverter.ConvertRow(red, green, blue, luma, cb, cr, scratch);
            for (var i = 0; i < width; i++)
            {
                if (luma[i] != JpegColorConverter.Luma(r, green[i], blue[i]) ||
                    cb[i] != JpegColorConverter.Cb(r, green[i], blue[i]) ||
                    cr[i] != JpegColorConverter.Cr(r, green[i], blue[i]))
                {
                    Assert.Fail($"RGB ({r}, {green[i]}, {blue[i]}): row gave Y/Cb/Cr {luma[i]}/{cb[i]}/{cr[i]}, the formulas " +
                        $"{JpegColorConverter.Luma(r, green[i], blue[i])}/{JpegColorConverter.Cb(r, green[i], blue[i])}/{JpegColorConverter.Cr(r, green[i], blue[i])}.");
                }
            }
        }
    }

    [Fact]
    public void RowConversionWithoutLumaLeavesChromaUnchanged()
    {
        var random = new Random(5);
        var rgb = new byte[3 * 37];
        random.NextBytes(rgb);
        var red = rgb.AsSpan(0, 37);
        var green = rgb.AsSpan(37, 37);
        var blue = rgb.AsSpan(74, 37);
        var scratch = new int[JpegColorConverter.RowScratchLength(37)];
        byte[] cbWith = new byte[37], crWith = new byte[37], cbWithout = new byte[37], crWithout = new byte[37];
        JpegColorConverter.ConvertRow(red, green, blue, new byte[37], cbWith, crWith, scratch);
        JpegColorConverter.ConvertRow(red, green, blue, default, cbWithout, crWithout, scratch);
        Assert.Equal(cbWith, cbWithout);
        Assert.Equal(crWith, crWithout);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(50)]
    [InlineData(75)]
    [InlineData(95)]
    [InlineData(100)]
    public void QuantiserEqualsRoundedDivisionForEveryReachableCoefficient(int quality)
    {
        // An 8-bit ISLOW DCT (output x 8) stays within +-2^14; every position is tried with every value in that range.
        const int limit = 1 << 14;
        foreach (var annexK in new[] { JpegQuantizationTables.AnnexKLuminance.ToArray(), JpegQuantizationTables.AnnexKChrominance.ToArray() })
        {
            var table = JpegQuantizationTables.Scale(annexK, quality);
            var quantizer = new JpegQuantizer(table);
            var block = new int[64];
            var vectorised = new int[64];
            var scalar = new int[64];
            for (var value = -limit; value <= limit; value++)
            {
                for (var i = 0; i < 64; i++) block[i] = (i & 1) == 0 ? value : -value;
                quantizer.Quantize(block, vectorised);
                quantizer.QuantizeScalar(block, scalar);
                for (var k = 0; k < 64; k++)
                {
                    var i = JpegZigZag.NaturalIndex[k];
                    var divisor = 8 * table[i];
                    // libjpeg's jcdctmgr.c without reciprocals: (|c| + d/2) / d, sign restored.
                    var expected = (Math.Abs(block[i]) + (divisor >> 1)) / divisor * Math.Sign(block[i]);
                    if (vectorised[k] != expected || scalar[k] != expected)
                        Assert.Fail($"Quality {quality}, coefficient {block[i]} at {i} (divisor {divisor}): vectorised {vectorised[k]}, " +
                            $"scalar {scalar[k]}, rounded division {expected}.");
                }
            }
        }
    }
}
