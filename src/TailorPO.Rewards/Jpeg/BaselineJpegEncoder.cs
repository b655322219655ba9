using System.Buffers;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// A managed baseline JPEG encoder that reproduces, byte for byte, what Pillow writes for
/// <c>Image.save(f, "JPEG", quality=q)</c> with its other defaults (Pillow 9.4 on
/// libjpeg-turbo): JFIF APP0, IJG-scaled Annex K quantisation tables, libjpeg's fixed-point
/// RGB to YCbCr, 4:2:0 subsampling with libjpeg's h2v2 averaging and edge padding, the
/// integer LLM DCT (JDCT_ISLOW) with libjpeg-turbo's rounding, and the standard Annex K
/// Huffman tables (no optimisation, no restart markers, one interleaved scan).
/// </summary>
/// <remarks>
/// <para>
/// Why a managed encoder exists: DDPO's JPEG compressibility reward, and the numbers the DDPO
/// and TailorPO papers report for it, are the size of <em>that</em> file. Other encoders
/// measure something else. SkiaSharp's JPEG encoder, for one, optimises the Huffman tables
/// for each image and writes a different header, which makes small images up to about 2x
/// smaller (305 against 678 bytes for a flat 64x48 image) and shifts the reward by an
/// image-dependent amount; a policy trained or evaluated on it would not be comparable with
/// the published values. Encoding here needs no native library either.
/// </para>
/// <para>
/// Input is channel-planar RGB bytes, exactly the memory of a contiguous [3, H, W] uint8
/// tensor. The encoder is immutable and thread-safe; each call rents its scratch memory from
/// the shared array pool and allocates nothing per pixel or per block.
/// </para>
/// </remarks>
public sealed class BaselineJpegEncoder
{
    /// <summary>The quality DDPO and the TailorPO paper use.</summary>
    public const int DefaultQuality = 95;

    /// <summary>The largest width or height a baseline frame header can carry.</summary>
    public const int MaxDimension = 65535;

    private readonly JpegQuantizer _luma;
    private readonly JpegQuantizer _chroma;

    /// <summary>Creates an encoder for one quality setting.</summary>
    /// <param name="quality">IJG quality, 1 (smallest) to 100 (largest files); 95 by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">The quality is outside 1..100.</exception>
    public BaselineJpegEncoder(int quality = DefaultQuality)
    {
        if (quality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "The JPEG quality must be between 1 and 100 (DDPO uses 95).");
        Quality = quality;
        _luma = new JpegQuantizer(JpegQuantizationTables.Scale(JpegQuantizationTables.AnnexKLuminance, quality));
        _chroma = new JpegQuantizer(JpegQuantizationTables.Scale(JpegQuantizationTables.AnnexKChrominance, quality));
    }

    /// <summary>The IJG quality this encoder uses.</summary>
    public int Quality { get; }

    /// <summary>Encodes an image and returns the JPEG file.</summary>
    /// <param name="rgbPlanar">3 x H x W bytes: the red plane, then green, then blue, each row-major.</param>
    /// <param name="height">Image height in pixels (1..65535).</param>
    /// <param name="width">Image width in pixels (1..65535).</param>
    /// <returns>The complete JPEG file (SOI to EOI).</returns>
    /// <exception cref="ArgumentException">The sizes are out of range or do not match the data length.</exception>
    public byte[] Encode(ReadOnlySpan<byte> rgbPlanar, int height, int width)
    {
        using var output = EncodeCore(rgbPlanar, height, width);
        return output.ToArray();
    }

    /// <summary>
    /// The length in bytes of the file <see cref="Encode"/> would return, without copying it out.
    /// DDPO's reward is this length / 1000 (kB).
    /// </summary>
    /// <param name="rgbPlanar">3 x H x W bytes: the red plane, then green, then blue, each row-major.</param>
    /// <param name="height">Image height in pixels (1..65535).</param>
    /// <param name="width">Image width in pixels (1..65535).</param>
    /// <exception cref="ArgumentException">The sizes are out of range or do not match the data length.</exception>
    public int GetEncodedLength(ReadOnlySpan<byte> rgbPlanar, int height, int width)
    {
        using var output = EncodeCore(rgbPlanar, height, width);
        return output.Length;
    }

    private JpegStreamWriter EncodeCore(ReadOnlySpan<byte> rgbPlanar, int height, int width)
    {
        Validate(rgbPlanar, height, width);

        var scratch = ArrayPool<byte>.Shared.Rent(JpegPlanes.ScratchLength(height, width));
        // Start at about a quarter of the raw size; high-quality noise may need more, which the writer grows into.
        var output = new JpegStreamWriter(rgbPlanar.Length / 4 + 1024);
        try
        {
            var planes = JpegPlanes.Build(rgbPlanar, height, width, scratch);
            JpegMarkerWriter.WriteHeaders(output, height, width, _luma.Table, _chroma.Table);
            EncodeScan(output, planes, height, width);
            JpegMarkerWriter.WriteEnd(output);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    // One interleaved scan of 16x16 MCUs: four Y blocks (row by row), then one Cb and one Cr.
    private void EncodeScan(JpegStreamWriter output, JpegPlanes planes, int height, int width)
    {
        var lumaBlocksWide = (width + 7) / 8;
        var lumaBlocksHigh = (height + 7) / 8;
        var mcusWide = (width + 15) / 16;
        var mcusHigh = (height + 15) / 16;

        Span<int> block = stackalloc int[64];
        Span<int> zigZag = stackalloc int[64];
        int previousY = 0, previousCb = 0, previousCr = 0;
        var lumaDc = StandardHuffmanTables.LuminanceDc;
        var lumaAc = StandardHuffmanTables.LuminanceAc;
        var chromaDc = StandardHuffmanTables.ChrominanceDc;
        var chromaAc = StandardHuffmanTables.ChrominanceAc;

        for (var mcuY = 0; mcuY < mcusHigh; mcuY++)
        {
            for (var mcuX = 0; mcuX < mcusWide; mcuX++)
            {
                output.EnsureCapacity(JpegStreamWriter.MaxBytesPerMcu);
                for (var dy = 0; dy < 2; dy++)
                {
                    for (var dx = 0; dx < 2; dx++)
                    {
                        var blockX = 2 * mcuX + dx;
                        var blockY = 2 * mcuY + dy;
                        if (blockX < lumaBlocksWide && blockY < lumaBlocksHigh)
                        {
                            JpegForwardDct.Transform(planes.Luma, planes.LumaStride, 8 * blockX, 8 * blockY, block);
                            _luma.Quantize(block, zigZag);
                            JpegBlockEncoder.Encode(output, zigZag, ref previousY, lumaDc, lumaAc);
                        }
                        else
                        {
                            JpegBlockEncoder.EncodeDummy(output, lumaDc, lumaAc);
                        }
                    }
                }

                JpegForwardDct.Transform(planes.Cb, planes.ChromaStride, 8 * mcuX, 8 * mcuY, block);
                _chroma.Quantize(block, zigZag);
                JpegBlockEncoder.Encode(output, zigZag, ref previousCb, chromaDc, chromaAc);

                JpegForwardDct.Transform(planes.Cr, planes.ChromaStride, 8 * mcuX, 8 * mcuY, block);
                _chroma.Quantize(block, zigZag);
                JpegBlockEncoder.Encode(output, zigZag, ref previousCr, chromaDc, chromaAc);
            }
        }
        output.FlushBits();
    }

    private static void Validate(ReadOnlySpan<byte> rgbPlanar, int height, int width)
    {
        if (height is < 1 or > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(height), height, $"The image height must be between 1 and {MaxDimension} pixels.");
        if (width is < 1 or > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"The image width must be between 1 and {MaxDimension} pixels.");
        var expected = 3L * height * width;
        if (rgbPlanar.Length != expected)
            throw new ArgumentException(
                $"Expected 3 x {height} x {width} = {expected} bytes of channel-planar RGB, got {rgbPlanar.Length}.", nameof(rgbPlanar));
    }
}
