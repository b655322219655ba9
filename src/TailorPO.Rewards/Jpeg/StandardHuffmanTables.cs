namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The typical Huffman tables of ITU T.81 Annex K.3, which libjpeg writes when Huffman
/// optimisation is off (Pillow's default). Using them, rather than tables fitted to the image,
/// is what makes the file size the compressibility measure DDPO reports.
/// </summary>
internal static class StandardHuffmanTables
{
    /// <summary>Table K.3: luminance DC differences.</summary>
    public static JpegHuffmanTable LuminanceDc { get; } = new(
        [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    /// <summary>Table K.4: chrominance DC differences.</summary>
    public static JpegHuffmanTable ChrominanceDc { get; } = new(
        [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    /// <summary>Table K.5: luminance AC run/size symbols.</summary>
    public static JpegHuffmanTable LuminanceAc { get; } = new(
        [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
        Concat(
            [0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
             0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
             0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
             0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a],
            // The long tail of the table is every remaining size 3..10 for runs 4..15 in order.
            Sizes(0x4, 3), Sizes(0x5, 3), Sizes(0x6, 3), Sizes(0x7, 3), Sizes(0x8, 3), Sizes(0x9, 2),
            Sizes(0xa, 2), Sizes(0xb, 2), Sizes(0xc, 2), Sizes(0xd, 2), Sizes(0xe, 1), Sizes(0xf, 1)));

    /// <summary>Table K.6: chrominance AC run/size symbols.</summary>
    public static JpegHuffmanTable ChrominanceAc { get; } = new(
        [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
        Concat(
            [0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
             0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
             0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
             0x27, 0x28, 0x29, 0x2a],
            Sizes(0x3, 5), Sizes(0x4, 3), Sizes(0x5, 3), Sizes(0x6, 3), Sizes(0x7, 3), Sizes(0x8, 2),
            Sizes(0x9, 2), Sizes(0xa, 2), Sizes(0xb, 2), Sizes(0xc, 2), Sizes(0xd, 2), Sizes(0xe, 2), Sizes(0xf, 2)));

    // Symbols (run << 4 | size) for one run and sizes firstSize..10.
    private static byte[] Sizes(int run, int firstSize) =>
        Enumerable.Range(firstSize, 11 - firstSize).Select(size => (byte)(run << 4 | size)).ToArray();

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
