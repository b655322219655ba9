namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The marker segments of a baseline JFIF file in the order and form libjpeg writes them
/// for Pillow's defaults: SOI; APP0 "JFIF" 1.01 with aspect-ratio density 1:1 and no thumbnail;
/// one DQT per table (8-bit entries, zig-zag order); SOF0; one DHT per table, DC then AC per
/// component table pair; SOS for the single interleaved scan; and EOI after the data.
/// </summary>
internal static class JpegMarkerWriter
{
    private const byte Soi = 0xD8, App0 = 0xE0, Dqt = 0xDB, Sof0 = 0xC0, Dht = 0xC4, Sos = 0xDA, Eoi = 0xD9;

    /// <summary>Component ids, as libjpeg numbers Y, Cb, Cr.</summary>
    private static readonly byte[] s_componentIds = [1, 2, 3];

    /// <summary>Writes everything before the entropy-coded data.</summary>
    public static void WriteHeaders(JpegStreamWriter output, int height, int width,
        ReadOnlySpan<ushort> lumaTable, ReadOnlySpan<ushort> chromaTable)
    {
        WriteMarker(output, Soi);
        WriteJfif(output);
        WriteQuantizationTable(output, 0, lumaTable);
        WriteQuantizationTable(output, 1, chromaTable);
        WriteFrameHeader(output, height, width);
        WriteHuffmanTable(output, isAc: false, 0, StandardHuffmanTables.LuminanceDc);
        WriteHuffmanTable(output, isAc: true, 0, StandardHuffmanTables.LuminanceAc);
        WriteHuffmanTable(output, isAc: false, 1, StandardHuffmanTables.ChrominanceDc);
        WriteHuffmanTable(output, isAc: true, 1, StandardHuffmanTables.ChrominanceAc);
        WriteScanHeader(output);
    }

    /// <summary>Writes the end-of-image marker.</summary>
    public static void WriteEnd(JpegStreamWriter output) => WriteMarker(output, Eoi);

    private static void WriteMarker(JpegStreamWriter output, byte marker)
    {
        output.WriteByte(0xFF);
        output.WriteByte(marker);
    }

    private static void WriteJfif(JpegStreamWriter output)
    {
        WriteMarker(output, App0);
        output.WriteUInt16(16);
        output.WriteBytes("JFIF\0"u8);
        output.WriteByte(1); // version 1.01
        output.WriteByte(1);
        output.WriteByte(0); // density unit 0: the densities only give the pixel aspect ratio
        output.WriteUInt16(1);
        output.WriteUInt16(1);
        output.WriteByte(0); // no thumbnail
        output.WriteByte(0);
    }

    private static void WriteQuantizationTable(JpegStreamWriter output, int id, ReadOnlySpan<ushort> table)
    {
        WriteMarker(output, Dqt);
        output.WriteUInt16(2 + 1 + 64);
        output.WriteByte((byte)id); // precision 0 (8-bit entries) in the high nibble
        foreach (var natural in JpegZigZag.NaturalIndex) output.WriteByte((byte)table[natural]);
    }

    private static void WriteFrameHeader(JpegStreamWriter output, int height, int width)
    {
        WriteMarker(output, Sof0);
        output.WriteUInt16(8 + 3 * 3);
        output.WriteByte(8); // sample precision
        output.WriteUInt16(height);
        output.WriteUInt16(width);
        output.WriteByte(3);
        for (var c = 0; c < 3; c++)
        {
            output.WriteByte(s_componentIds[c]);
            output.WriteByte(c == 0 ? (byte)0x22 : (byte)0x11); // 4:2:0 sampling factors
            output.WriteByte(c == 0 ? (byte)0 : (byte)1);         // quantisation table
        }
    }

    private static void WriteHuffmanTable(JpegStreamWriter output, bool isAc, int id, JpegHuffmanTable table)
    {
        WriteMarker(output, Dht);
        output.WriteUInt16(2 + 1 + 16 + table.Symbols.Length);
        output.WriteByte((byte)((isAc ? 0x10 : 0x00) | id));
        output.WriteBytes(table.CountsPerLength);
        output.WriteBytes(table.Symbols);
    }

    private static void WriteScanHeader(JpegStreamWriter output)
    {
        WriteMarker(output, Sos);
        output.WriteUInt16(6 + 2 * 3);
        output.WriteByte(3);
        for (var c = 0; c < 3; c++)
        {
            output.WriteByte(s_componentIds[c]);
            output.WriteByte(c == 0 ? (byte)0x00 : (byte)0x11); // DC table << 4 | AC table
        }
        output.WriteByte(0);  // spectral selection start
        output.WriteByte(63); // spectral selection end
        output.WriteByte(0);  // successive approximation
    }
}
