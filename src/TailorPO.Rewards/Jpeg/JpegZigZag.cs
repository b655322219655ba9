namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The zig-zag scan of an 8x8 block (ITU T.81 figure A.6): entry k is the natural (row-major)
/// index of the k-th coefficient in the order DQT tables and entropy-coded blocks use.
/// </summary>
internal static class JpegZigZag
{
    /// <summary>Natural index of the k-th zig-zag position, k = 0..63.</summary>
    public static ReadOnlySpan<byte> NaturalIndex => s_naturalIndex;

    private static readonly byte[] s_naturalIndex = Build();

    // Walk the anti-diagonals d = row + col, alternating direction, rather than typing the table.
    private static byte[] Build()
    {
        var order = new byte[64];
        var k = 0;
        for (var d = 0; d < 15; d++)
        {
            var rowStart = Math.Max(0, d - 7);
            var rowEnd = Math.Min(7, d);
            if (d % 2 == 0)
            {
                // Even diagonals run up and to the right: row decreasing.
                for (var row = rowEnd; row >= rowStart; row--) order[k++] = (byte)(row * 8 + (d - row));
            }
            else
            {
                for (var row = rowStart; row <= rowEnd; row++) order[k++] = (byte)(row * 8 + (d - row));
            }
        }
        return order;
    }
}
