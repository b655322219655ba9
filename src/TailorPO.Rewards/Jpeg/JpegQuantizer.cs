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
    private readonly uint[] _reciprocal = new uint[64];
    private readonly uint[] _correction = new uint[64];
    private readonly int[] _shift = new int[64];

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
        }
    }

    /// <summary>The quantisation table, natural order (what DQT carries, in zig-zag order).</summary>
    public ushort[] Table { get; }

    /// <summary>
    /// Quantises a transformed block (natural order) into <paramref name="zigZag"/> in zig-zag order.
    /// </summary>
    public void Quantize(ReadOnlySpan<int> block, Span<int> zigZag)
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
