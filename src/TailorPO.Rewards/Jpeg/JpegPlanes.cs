using System.Buffers;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The three sample planes libjpeg feeds to its DCT for 4:2:0 (Y at 2x2, Cb and Cr at 1x1),
/// padded the way libjpeg pads them, so every DCT block sees the samples libjpeg's would:
/// <list type="bullet">
/// <item>Y: the last column is repeated up to a multiple of 8 columns and the last row down to
/// a multiple of 8 rows (blocks past that, up to the 16x16 MCU, are dummy blocks the encoder
/// writes without samples).</item>
/// <item>Cb, Cr: converted at full resolution, the last column repeated out to the MCU width
/// and an odd last row repeated once, then averaged over 2x2 with libjpeg's alternating
/// rounding bias (1, 2, 1, 2, ... along each output row). Output rows past the image are
/// copies of the last averaged row, not averages of repeated input rows.</item>
/// </list>
/// </summary>
internal readonly ref struct JpegPlanes
{
    /// <summary>Luma plane, <see cref="LumaStride"/> x <see cref="LumaRows"/>.</summary>
    public readonly Span<byte> Luma;

    /// <summary>Blue-difference plane, <see cref="ChromaStride"/> x <see cref="ChromaRows"/>.</summary>
    public readonly Span<byte> Cb;

    /// <summary>Red-difference plane, <see cref="ChromaStride"/> x <see cref="ChromaRows"/>.</summary>
    public readonly Span<byte> Cr;

    /// <summary>Width of the luma plane: 8 x the luma blocks per row.</summary>
    public readonly int LumaStride;

    /// <summary>Height of the luma plane: 8 x the luma block rows.</summary>
    public readonly int LumaRows;

    /// <summary>Width of the chroma planes: 8 x the MCUs per row.</summary>
    public readonly int ChromaStride;

    /// <summary>Height of the chroma planes: 8 x the MCU rows.</summary>
    public readonly int ChromaRows;

    private JpegPlanes(Span<byte> luma, Span<byte> cb, Span<byte> cr, int lumaStride, int lumaRows, int chromaStride, int chromaRows)
    {
        Luma = luma;
        Cb = cb;
        Cr = cr;
        LumaStride = lumaStride;
        LumaRows = lumaRows;
        ChromaStride = chromaStride;
        ChromaRows = chromaRows;
    }

    /// <summary>Bytes of scratch <see cref="Build"/> needs for an image of this size.</summary>
    public static int ScratchLength(int height, int width)
    {
        var lumaStride = CeilDiv(width, 8) * 8;
        var lumaRows = CeilDiv(height, 8) * 8;
        var chromaStride = CeilDiv(width, 16) * 8;
        var chromaRows = CeilDiv(height, 16) * 8;
        // Luma plane, two chroma planes, and four full-resolution chroma rows (two per component).
        return lumaStride * lumaRows + 2 * chromaStride * chromaRows + 4 * 2 * chromaStride;
    }

    /// <summary>Converts and pads a channel-planar RGB image ([3, H, W] bytes) into <paramref name="scratch"/>.</summary>
    public static JpegPlanes Build(ReadOnlySpan<byte> rgbPlanar, int height, int width, Span<byte> scratch)
    {
        var lumaStride = CeilDiv(width, 8) * 8;
        var lumaRows = CeilDiv(height, 8) * 8;
        var chromaStride = CeilDiv(width, 16) * 8;
        var chromaRows = CeilDiv(height, 16) * 8;
        var fullChromaWidth = 2 * chromaStride;

        var luma = scratch[..(lumaStride * lumaRows)];
        var rest = scratch[luma.Length..];
        var cb = rest[..(chromaStride * chromaRows)];
        rest = rest[cb.Length..];
        var cr = rest[..(chromaStride * chromaRows)];
        rest = rest[cr.Length..];
        var cbTop = rest[..fullChromaWidth];
        var cbBottom = rest.Slice(fullChromaWidth, fullChromaWidth);
        var crTop = rest.Slice(2 * fullChromaWidth, fullChromaWidth);
        var crBottom = rest.Slice(3 * fullChromaWidth, fullChromaWidth);

        var planeSize = height * width;
        var red = rgbPlanar[..planeSize];
        var green = rgbPlanar.Slice(planeSize, planeSize);
        var blue = rgbPlanar.Slice(2 * planeSize, planeSize);

        var chromaImageRows = CeilDiv(height, 2);
        var rowScratch = ArrayPool<int>.Shared.Rent(JpegColorConverter.RowScratchLength(width));
        try
        {
            for (var pair = 0; pair < chromaImageRows; pair++)
            {
                var top = 2 * pair;
                // An odd image height repeats its last row to complete the pair.
                var bottom = Math.Min(top + 1, height - 1);
                ConvertRow(red, green, blue, width, top, luma.Slice(top * lumaStride, lumaStride), cbTop, crTop, rowScratch);
                ConvertRow(red, green, blue, width, bottom,
                    top + 1 < height ? luma.Slice((top + 1) * lumaStride, lumaStride) : default, cbBottom, crBottom, rowScratch);
                Downsample(cbTop, cbBottom, cb.Slice(pair * chromaStride, chromaStride));
                Downsample(crTop, crBottom, cr.Slice(pair * chromaStride, chromaStride));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rowScratch);
        }

        RepeatLastRow(luma, lumaStride, height, lumaRows);
        RepeatLastRow(cb, chromaStride, chromaImageRows, chromaRows);
        RepeatLastRow(cr, chromaStride, chromaImageRows, chromaRows);
        return new JpegPlanes(luma, cb, cr, lumaStride, lumaRows, chromaStride, chromaRows);
    }

    // One image row to Y (when lumaRow is not empty) and full-resolution Cb/Cr, each padded on
    // the right with its last sample.
    private static void ConvertRow(
        ReadOnlySpan<byte> red, ReadOnlySpan<byte> green, ReadOnlySpan<byte> blue, int width, int row,
        Span<byte> lumaRow, Span<byte> cbRow, Span<byte> crRow, Span<int> scratch)
    {
        var offset = row * width;
        JpegColorConverter.ConvertRow(red.Slice(offset, width), green.Slice(offset, width), blue.Slice(offset, width),
            lumaRow.IsEmpty ? default : lumaRow[..width], cbRow[..width], crRow[..width], scratch);
        if (!lumaRow.IsEmpty) lumaRow[width..].Fill(lumaRow[width - 1]);
        cbRow[width..].Fill(cbRow[width - 1]);
        crRow[width..].Fill(crRow[width - 1]);
    }

    // libjpeg's h2v2 box average: bias 1 then 2 alternately, so exact halves round up and down in turn.
    private static void Downsample(ReadOnlySpan<byte> top, ReadOnlySpan<byte> bottom, Span<byte> output)
    {
        for (var x = 0; x < output.Length; x++)
        {
            var bias = 1 + (x & 1);
            output[x] = (byte)((top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1] + bias) >> 2);
        }
    }

    private static void RepeatLastRow(Span<byte> plane, int stride, int filledRows, int totalRows)
    {
        var last = plane.Slice((filledRows - 1) * stride, stride);
        for (var row = filledRows; row < totalRows; row++) last.CopyTo(plane.Slice(row * stride, stride));
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
