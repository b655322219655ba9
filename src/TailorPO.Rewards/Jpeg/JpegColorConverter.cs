using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// RGB to YCbCr (JFIF / CCIR 601) in libjpeg's 16-bit fixed point. The weights are libjpeg's
/// FIX(x) = round(x * 65536); Y rounds by adding one half, Cb and Cr add one half minus one
/// (so 255 never rounds up to 256) on top of the 128 offset. Bit-exact with libjpeg's tables.
/// <see cref="ConvertRow"/> converts a whole row with TensorPrimitives (the same integer arithmetic, vectorised);
/// the per-pixel functions state the formulas and are the reference the tests compare it with.
/// </summary>
internal static class JpegColorConverter
{
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);
    private const int ChromaOffset = 128 << ScaleBits;

    private const int RY = 19595;  // FIX(0.29900)
    private const int GY = 38470;  // FIX(0.58700)
    private const int BY = 7471;   // FIX(0.11400)
    private const int RCb = 11059; // FIX(0.16874)
    private const int GCb = 21709; // FIX(0.33126)
    private const int Half = 32768; // FIX(0.50000)
    private const int GCr = 27439; // FIX(0.41869)
    private const int BCr = 5329;  // FIX(0.08131)

    /// <summary>Ints of scratch <see cref="ConvertRow"/> needs for a row of <paramref name="width"/> pixels.</summary>
    public static int RowScratchLength(int width) => 4 * width;

    /// <summary>
    /// Converts one row: Y (when <paramref name="luma"/> is not empty), Cb and Cr of each pixel, exactly as
    /// <see cref="Luma"/>, <see cref="Cb"/> and <see cref="Cr"/> would. Integer sums are exact, so the order in which
    /// the vectorised passes add the terms does not change a result.
    /// </summary>
    /// <param name="red">The row's red samples.</param>
    /// <param name="green">The row's green samples.</param>
    /// <param name="blue">The row's blue samples.</param>
    /// <param name="luma">Y out (the row's width), or empty to skip luma.</param>
    /// <param name="cb">Cb out (the row's width).</param>
    /// <param name="cr">Cr out (the row's width).</param>
    /// <param name="scratch">At least <see cref="RowScratchLength"/> ints.</param>
    public static void ConvertRow(ReadOnlySpan<byte> red, ReadOnlySpan<byte> green, ReadOnlySpan<byte> blue,
        Span<byte> luma, Span<byte> cb, Span<byte> cr, Span<int> scratch)
    {
        var width = red.Length;
        var r = scratch[..width];
        var g = scratch.Slice(width, width);
        var b = scratch.Slice(2 * width, width);
        var sum = scratch.Slice(3 * width, width);
        TensorPrimitives.ConvertTruncating<byte, int>(red, r);
        TensorPrimitives.ConvertTruncating<byte, int>(green, g);
        TensorPrimitives.ConvertTruncating<byte, int>(blue, b);

        if (!luma.IsEmpty)
        {
            // (RY r + GY g + BY b + 1/2) >> 16
            TensorPrimitives.Multiply(r, RY, sum);
            TensorPrimitives.MultiplyAdd(g, GY, sum, sum);
            TensorPrimitives.MultiplyAdd(b, BY, sum, sum);
            Finish(sum, OneHalf, luma);
        }

        // (Half b - RCb r - GCb g + 128 + 1/2 - 1) >> 16
        TensorPrimitives.Multiply(b, Half, sum);
        TensorPrimitives.MultiplyAdd(r, -RCb, sum, sum);
        TensorPrimitives.MultiplyAdd(g, -GCb, sum, sum);
        Finish(sum, ChromaOffset + OneHalf - 1, cb);

        // (Half r - GCr g - BCr b + 128 + 1/2 - 1) >> 16
        TensorPrimitives.Multiply(r, Half, sum);
        TensorPrimitives.MultiplyAdd(g, -GCr, sum, sum);
        TensorPrimitives.MultiplyAdd(b, -BCr, sum, sum);
        Finish(sum, ChromaOffset + OneHalf - 1, cr);
    }

    // Adds the rounding constant, drops the 16 fraction bits and narrows; every result is in 0..255.
    private static void Finish(Span<int> sum, int rounding, Span<byte> output)
    {
        TensorPrimitives.Add(sum, rounding, sum);
        TensorPrimitives.ShiftRightArithmetic(sum, ScaleBits, sum);
        TensorPrimitives.ConvertTruncating<int, byte>(sum, output);
    }

    /// <summary>Luma of one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Luma(int r, int g, int b) => (byte)((RY * r + GY * g + BY * b + OneHalf) >> ScaleBits);

    /// <summary>Blue-difference chroma of one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Cb(int r, int g, int b) =>
        (byte)((Half * b - RCb * r - GCb * g + ChromaOffset + OneHalf - 1) >> ScaleBits);

    /// <summary>Red-difference chroma of one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Cr(int r, int g, int b) =>
        (byte)((Half * r - GCr * g - BCr * b + ChromaOffset + OneHalf - 1) >> ScaleBits);
}
