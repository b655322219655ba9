using System.Numerics.Tensors;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// Quantises DCT coefficients with one table the way libjpeg-turbo does: the divisor is
/// 8 x the table entry (the ISLOW DCT's scale), and the division |c| / d rounded to nearest is
/// computed as ((|c| + correction) x reciprocal) &gt;&gt; shift with libjpeg-turbo's 16-bit
/// reciprocals (its compute_reciprocal), then the sign is restored. The reciprocal form is
/// kept, not a plain division, so that rounding agrees in every case.
/// </summary>
internal sealed class JpegQuantizer
{
    // libjpeg-turbo's per-coefficient shift is 16 + log2(divisor) <= 16 + log2(8 x 255) < CommonShift. Scaling each
    // reciprocal by 2^(CommonShift - shift) lets one shift serve every coefficient (vectorisable) with the same
    // result: floor(x r 2^(S - s) / 2^S) = floor(x r / 2^s) for integers. x < 2^15 and the scaled r < 2^24, so the
    // product fits a long.
    private const int CommonShift = 27;

    private readonly uint[] _reciprocal = new uint[64];
    private readonly uint[] _correction = new uint[64];
    private readonly int[] _shift = new int[64];
    private readonly long[] _scaledReciprocal = new long[64];
    private readonly long[] _correctionWide = new long[64];

    /// <summary>Prepares the quantiser for a table in natural order.</summary>
    public JpegQuantizer(ReadOnlySpan<ushort> table)
    {
        Table = table.ToArray();
        for (var i = 0; i < 64; i++)
        {
            var divisor = (uint)table[i] << 3;
            var log2 = 31 - System.Numerics.BitOperations.LeadingZeroCount(divisor);
            var shift = 16 + log2;
            var quotient = (1UL << shift) / divisor;
            var remainder = (1UL << shift) % divisor;
            var correction = divisor / 2;
            if (remainder == 0)
            {
                // A power of two: the reciprocal would need 17 bits, so halve it and the shift.
                quotient >>= 1;
                shift--;
            }
            else if (remainder <= divisor / 2)
            {
                correction++;
            }
            else
            {
                quotient++;
            }
            _reciprocal[i] = (uint)quotient;
            _correction[i] = correction;
            _shift[i] = shift;
            _scaledReciprocal[i] = (long)quotient << (CommonShift - shift);
            _correctionWide[i] = correction;
        }
    }

    /// <summary>The quantisation table, natural order (what DQT carries, in zig-zag order).</summary>
    public ushort[] Table { get; }

    /// <summary>
    /// Quantises a transformed block (natural order) into <paramref name="zigZag"/> in zig-zag order, with
    /// TensorPrimitives over the 64 coefficients: |c|, + correction, x scaled reciprocal, &gt;&gt; one common shift,
    /// the sign of c restored, then the zig-zag reorder. Equal to <see cref="QuantizeScalar"/> for every input.
    /// </summary>
    public void Quantize(ReadOnlySpan<int> block, Span<int> zigZag)
    {
        Span<int> magnitude = stackalloc int[64];
        Span<long> wide = stackalloc long[64];
        Span<int> quantized = stackalloc int[64];
        block = block[..64];
        TensorPrimitives.Abs(block, magnitude);
        TensorPrimitives.ConvertTruncating<int, long>(magnitude, wide);
        TensorPrimitives.Add(wide, _correctionWide, wide);
        TensorPrimitives.Multiply(wide, _scaledReciprocal, wide);
        TensorPrimitives.ShiftRightArithmetic(wide, CommonShift, wide);
        TensorPrimitives.ConvertTruncating<long, int>(wide, quantized);
        TensorPrimitives.CopySign(quantized, block, quantized);
        var natural = JpegZigZag.NaturalIndex;
        for (var k = 0; k < 64; k++) zigZag[k] = quantized[natural[k]];
    }

    /// <summary>
    /// The same quantisation one coefficient at a time, exactly as libjpeg-turbo writes it (its per-coefficient
    /// reciprocal, correction and shift); the reference for <see cref="Quantize"/>.
    /// </summary>
    public void QuantizeScalar(ReadOnlySpan<int> block, Span<int> zigZag)
    {
        var natural = JpegZigZag.NaturalIndex;
        for (var k = 0; k < 64; k++)
        {
            int i = natural[k];
            var c = block[i];
            var magnitude = (uint)Math.Abs(c);
            var q = (int)((ulong)(magnitude + _correction[i]) * _reciprocal[i] >> _shift[i]);
            zigZag[k] = c < 0 ? -q : q;
        }
    }
}
