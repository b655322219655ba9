namespace TailorPO.Samples.Imaging;

/// <summary>
/// A 5 x 7 bitmap font (upper-case letters, digits, common punctuation) so captions render the same on
/// every machine without any installed font. Each glyph is seven rows of five bits, top row first.
/// </summary>
public static class PixelFont
{
    /// <summary>Glyph width in pixels.</summary>
    public const int GlyphWidth = 5;

    /// <summary>Glyph height in pixels.</summary>
    public const int GlyphHeight = 7;

    /// <summary>Horizontal advance per character (glyph + 1 pixel gap).</summary>
    public const int Advance = GlyphWidth + 1;

    /// <summary>Vertical advance per line (glyph + 2 pixels gap).</summary>
    public const int LineHeight = GlyphHeight + 2;

    private static readonly Dictionary<char, string> Glyphs = new()
    {
        ['A'] = "01110 10001 10001 11111 10001 10001 10001",
        ['B'] = "11110 10001 10001 11110 10001 10001 11110",
        ['C'] = "01110 10001 10000 10000 10000 10001 01110",
        ['D'] = "11110 10001 10001 10001 10001 10001 11110",
        ['E'] = "11111 10000 10000 11110 10000 10000 11111",
        ['F'] = "11111 10000 10000 11110 10000 10000 10000",
        ['G'] = "01110 10001 10000 10111 10001 10001 01111",
        ['H'] = "10001 10001 10001 11111 10001 10001 10001",
        ['I'] = "01110 00100 00100 00100 00100 00100 01110",
        ['J'] = "00111 00010 00010 00010 00010 10010 01100",
        ['K'] = "10001 10010 10100 11000 10100 10010 10001",
        ['L'] = "10000 10000 10000 10000 10000 10000 11111",
        ['M'] = "10001 11011 10101 10101 10001 10001 10001",
        ['N'] = "10001 10001 11001 10101 10011 10001 10001",
        ['O'] = "01110 10001 10001 10001 10001 10001 01110",
        ['P'] = "11110 10001 10001 11110 10000 10000 10000",
        ['Q'] = "01110 10001 10001 10001 10101 10010 01101",
        ['R'] = "11110 10001 10001 11110 10100 10010 10001",
        ['S'] = "01111 10000 10000 01110 00001 00001 11110",
        ['T'] = "11111 00100 00100 00100 00100 00100 00100",
        ['U'] = "10001 10001 10001 10001 10001 10001 01110",
        ['V'] = "10001 10001 10001 10001 10001 01010 00100",
        ['W'] = "10001 10001 10001 10101 10101 10101 01010",
        ['X'] = "10001 10001 01010 00100 01010 10001 10001",
        ['Y'] = "10001 10001 01010 00100 00100 00100 00100",
        ['Z'] = "11111 00001 00010 00100 01000 10000 11111",
        ['0'] = "01110 10001 10011 10101 11001 10001 01110",
        ['1'] = "00100 01100 00100 00100 00100 00100 01110",
        ['2'] = "01110 10001 00001 00010 00100 01000 11111",
        ['3'] = "11111 00010 00100 00010 00001 10001 01110",
        ['4'] = "00010 00110 01010 10010 11111 00010 00010",
        ['5'] = "11111 10000 11110 00001 00001 10001 01110",
        ['6'] = "00110 01000 10000 11110 10001 10001 01110",
        ['7'] = "11111 00001 00010 00100 01000 01000 01000",
        ['8'] = "01110 10001 10001 01110 10001 10001 01110",
        ['9'] = "01110 10001 10001 01111 00001 00010 01100",
        ['.'] = "00000 00000 00000 00000 00000 01100 01100",
        [','] = "00000 00000 00000 00000 01100 00100 01000",
        ['-'] = "00000 00000 00000 11111 00000 00000 00000",
        [':'] = "00000 01100 01100 00000 01100 01100 00000",
        ['/'] = "00001 00001 00010 00100 01000 10000 10000",
        ['('] = "00010 00100 01000 01000 01000 00100 00010",
        [')'] = "01000 00100 00010 00010 00010 00100 01000",
        ['\''] = "00100 00100 01000 00000 00000 00000 00000",
        ['+'] = "00000 00100 00100 11111 00100 00100 00000",
        ['='] = "00000 00000 11111 00000 11111 00000 00000",
        ['%'] = "11000 11001 00010 00100 01000 10011 00011",
        ['_'] = "00000 00000 00000 00000 00000 00000 11111",
        ['!'] = "00100 00100 00100 00100 00100 00000 00100",
        ['?'] = "01110 10001 00001 00010 00100 00000 00100",
        ['#'] = "01010 01010 11111 01010 11111 01010 01010",
        ['>'] = "01000 00100 00010 00001 00010 00100 01000",
        ['<'] = "00010 00100 01000 10000 01000 00100 00010",
        ['"'] = "01010 01010 00000 00000 00000 00000 00000",
        [';'] = "00000 01100 01100 00000 01100 00100 01000",
        ['*'] = "00000 00100 10101 01110 10101 00100 00000",
        ['&'] = "01100 10010 10100 01000 10101 10010 01101",
        ['@'] = "01110 10001 10111 10101 10111 10000 01110",
        ['$'] = "00100 01111 10100 01110 00101 11110 00100",
        [' '] = "00000 00000 00000 00000 00000 00000 00000",
    };

    /// <summary>True when pixel (<paramref name="x"/>, <paramref name="y"/>) of the glyph for <paramref name="c"/> is ink (unknown characters draw as '?').</summary>
    public static bool IsInk(char c, int x, int y)
    {
        if ((uint)x >= GlyphWidth || (uint)y >= GlyphHeight) return false;
        if (!Glyphs.TryGetValue(char.ToUpperInvariant(c), out var glyph)) glyph = Glyphs['?'];
        return glyph[y * (GlyphWidth + 1) + x] == '1';
    }

    /// <summary>Splits text into lines of at most <paramref name="maxChars"/> characters at spaces (long words are cut).</summary>
    public static IReadOnlyList<string> Wrap(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var rest = word;
            while (rest.Length > maxChars)
            {
                if (line.Length > 0) { lines.Add(line); line = ""; }
                lines.Add(rest[..maxChars]);
                rest = rest[maxChars..];
            }
            if (line.Length == 0) line = rest;
            else if (line.Length + 1 + rest.Length <= maxChars) line += " " + rest;
            else { lines.Add(line); line = rest; }
        }
        if (line.Length > 0) lines.Add(line);
        return lines;
    }
}
