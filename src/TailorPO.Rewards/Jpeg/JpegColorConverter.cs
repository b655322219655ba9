using System.Runtime.CompilerServices;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// RGB to YCbCr (JFIF / CCIR 601) in libjpeg's 16-bit fixed point. The weights are libjpeg's
/// FIX(x) = round(x * 65536); Y rounds by adding one half, Cb and Cr add one half minus one
/// (so 255 never rounds up to 256) on top of the 128 offset. Bit-exact with libjpeg's tables.
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
