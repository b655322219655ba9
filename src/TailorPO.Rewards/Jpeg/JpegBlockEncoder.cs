using System.Numerics;
using System.Runtime.CompilerServices;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// Huffman-codes one quantised block (zig-zag order) of a baseline sequential scan
/// (T.81 F.1.2): the DC difference from the previous block of the same component as
/// (size category, extra bits), then the AC coefficients as (zero run, size) symbols with
/// ZRL (0xF0) for each run of 16 zeros before a non-zero value and EOB (0x00) after the last
/// non-zero value.
/// </summary>
internal static class JpegBlockEncoder
{
    /// <summary>Codes one block; <paramref name="previousDc"/> is updated to this block's DC.</summary>
    public static void Encode(JpegStreamWriter output, ReadOnlySpan<int> zigZag, ref int previousDc,
        JpegHuffmanTable dcTable, JpegHuffmanTable acTable)
    {
        var dc = zigZag[0];
        WriteValue(output, dcTable, 0, dc - previousDc);
        previousDc = dc;

        var run = 0;
        for (var k = 1; k < 64; k++)
        {
            var value = zigZag[k];
            if (value == 0)
            {
                run++;
                continue;
            }
            while (run > 15)
            {
                output.WriteBits(acTable.Code(0xF0), acTable.Length(0xF0));
                run -= 16;
            }
            WriteValue(output, acTable, run << 4, value);
            run = 0;
        }
        if (run > 0) output.WriteBits(acTable.Code(0x00), acTable.Length(0x00));
    }

    /// <summary>
    /// Codes a dummy block (one libjpeg adds to complete an MCU past the image edge): its DC equals
    /// the previous block's and its AC are zero, so it is a zero DC difference and an EOB.
    /// </summary>
    public static void EncodeDummy(JpegStreamWriter output, JpegHuffmanTable dcTable, JpegHuffmanTable acTable)
    {
        output.WriteBits(dcTable.Code(0), dcTable.Length(0));
        output.WriteBits(acTable.Code(0x00), acTable.Length(0x00));
    }

    // The symbol (runBits | size category) followed by the value's size-category bits; a negative
    // value is sent as value - 1 in that many bits (its ones' complement).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteValue(JpegStreamWriter output, JpegHuffmanTable table, int runBits, int value)
    {
        var magnitude = (uint)Math.Abs(value);
        var size = magnitude == 0 ? 0 : 32 - BitOperations.LeadingZeroCount(magnitude);
        var symbol = runBits | size;
        var codeLength = table.Length(symbol);
        var extra = (uint)(value < 0 ? value - 1 : value) & ((1u << size) - 1);
        output.WriteBits(table.Code(symbol) << size | extra, codeLength + size);
    }
}
