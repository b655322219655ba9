namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// libjpeg's default forward DCT, JDCT_ISLOW: the Loeffler-Ligtenberg-Moschytz factorisation in
/// 13-bit fixed point with 2 extra bits kept between the row and column passes. Its output is
/// the true 2-D DCT scaled by 8, which the quantiser divides back out (divisor = 8 x table).
/// The arithmetic (constants, rounding shifts, order of additions) follows the algorithm
/// exactly, because a one-unit difference before quantisation can change the file size.
/// </summary>
internal static class JpegForwardDct
{
    private const int ConstBits = 13;
    private const int Pass1Bits = 2;

    // round(x * 2^13) of the rotation constants.
    private const int Fix0298631336 = 2446;
    private const int Fix0390180644 = 3196;
    private const int Fix0541196100 = 4433;
    private const int Fix0765366865 = 6270;
    private const int Fix0899976223 = 7373;
    private const int Fix1175875602 = 9633;
    private const int Fix1501321110 = 12299;
    private const int Fix1847759065 = 15137;
    private const int Fix1961570560 = 16069;
    private const int Fix2053119869 = 16819;
    private const int Fix2562915447 = 20995;
    private const int Fix3072711026 = 25172;

    /// <summary>
    /// Loads the 8x8 block at (<paramref name="x"/>, <paramref name="y"/>) of a plane, centred on
    /// zero (sample - 128), and transforms it in place in <paramref name="block"/> (natural order).
    /// </summary>
    public static void Transform(ReadOnlySpan<byte> plane, int stride, int x, int y, Span<int> block)
    {
        for (var row = 0; row < 8; row++)
        {
            var src = plane.Slice((y + row) * stride + x, 8);
            var o = row * 8;
            // Row pass: the centred samples of one row in, the row's 8 coefficients (x 4) out.
            int d0 = src[0] - 128, d1 = src[1] - 128, d2 = src[2] - 128, d3 = src[3] - 128;
            int d4 = src[4] - 128, d5 = src[5] - 128, d6 = src[6] - 128, d7 = src[7] - 128;
            OneDimension(d0, d1, d2, d3, d4, d5, d6, d7, block, o, 1, isRowPass: true);
        }
        for (var col = 0; col < 8; col++)
        {
            OneDimension(block[col], block[8 + col], block[16 + col], block[24 + col],
                block[32 + col], block[40 + col], block[48 + col], block[56 + col], block, col, 8, isRowPass: false);
        }
    }

    private static void OneDimension(int d0, int d1, int d2, int d3, int d4, int d5, int d6, int d7,
        Span<int> output, int offset, int step, bool isRowPass)
    {
        int tmp0 = d0 + d7, tmp7 = d0 - d7;
        int tmp1 = d1 + d6, tmp6 = d1 - d6;
        int tmp2 = d2 + d5, tmp5 = d2 - d5;
        int tmp3 = d3 + d4, tmp4 = d3 - d4;

        // Even part.
        int tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
        int tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

        // The row pass keeps Pass1Bits of extra precision; the column pass removes it again.
        var shift = isRowPass ? ConstBits - Pass1Bits : ConstBits + Pass1Bits;
        if (isRowPass)
        {
            output[offset] = (tmp10 + tmp11) << Pass1Bits;
            output[offset + 4 * step] = (tmp10 - tmp11) << Pass1Bits;
        }
        else
        {
            output[offset] = Descale(tmp10 + tmp11, Pass1Bits);
            output[offset + 4 * step] = Descale(tmp10 - tmp11, Pass1Bits);
        }
        var z1 = (tmp12 + tmp13) * Fix0541196100;
        output[offset + 2 * step] = Descale(z1 + tmp13 * Fix0765366865, shift);
        output[offset + 6 * step] = Descale(z1 - tmp12 * Fix1847759065, shift);

        // Odd part.
        z1 = tmp4 + tmp7;
        var z2 = tmp5 + tmp6;
        var z3 = tmp4 + tmp6;
        var z4 = tmp5 + tmp7;
        var z5 = (z3 + z4) * Fix1175875602;

        tmp4 *= Fix0298631336;
        tmp5 *= Fix2053119869;
        tmp6 *= Fix3072711026;
        tmp7 *= Fix1501321110;
        z1 *= -Fix0899976223;
        z2 *= -Fix2562915447;
        z3 = z3 * -Fix1961570560 + z5;
        z4 = z4 * -Fix0390180644 + z5;

        output[offset + 7 * step] = Descale(tmp4 + z1 + z3, shift);
        output[offset + 5 * step] = Descale(tmp5 + z2 + z4, shift);
        output[offset + 3 * step] = Descale(tmp6 + z2 + z3, shift);
        output[offset + 1 * step] = Descale(tmp7 + z1 + z4, shift);
    }

    // Round-half-up arithmetic right shift, as libjpeg's DESCALE.
    private static int Descale(int value, int bits) => (value + (1 << (bits - 1))) >> bits;
}
