namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// GPT-2/CLIP's reversible byte-to-character map (<c>bytes_to_unicode</c>): printable Latin-1 bytes
/// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, every other byte for U+0100 + its rank among
/// them, so BPE never sees white space or control characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The character of each byte.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The 256 symbols in the order openai/CLIP lists them (printable bytes first): vocabulary ids 0..255.</summary>
    public static readonly char[] SymbolsInVocabularyOrder = BuildOrder();

    /// <summary>The byte a symbol stands for, or -1 when <paramref name="c"/> is not a byte symbol.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    private static readonly short[] CharToByteTable = BuildCharToByte();

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
            map[b] = IsPrintable(b) ? (char)b : (char)(256 + next++);
        return map;
    }

    private static char[] BuildOrder()
    {
        var order = new List<char>(256);
        for (var b = 0; b < 256; b++) if (IsPrintable(b)) order.Add((char)b);
        for (var b = 0; b < 256; b++) if (!IsPrintable(b)) order.Add(BuildByteToChar()[b]);
        return [.. order];
    }

    private static short[] BuildCharToByte()
    {
        var byteToChar = BuildByteToChar();
        var table = new short[byteToChar.Max() + 1];
        Array.Fill(table, (short)-1);
        for (var b = 0; b < 256; b++) table[byteToChar[b]] = (short)b;
        return table;
    }
}
