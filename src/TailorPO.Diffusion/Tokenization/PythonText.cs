using System.Globalization;
using System.Text;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// The Python string semantics openai/CLIP's clean-up relies on, which .NET's own string methods do
/// not share: <c>str.strip()</c> (also strips U+001C-U+001F, which <see cref="string.Trim()"/> keeps),
/// the <c>regex</c> module's Unicode <c>\s</c> (the White_Space property) and <c>str.lower()</c>
/// (U+0130 becomes "i" + U+0307, a capital sigma at the end of a word becomes final sigma; .NET's
/// invariant lower-casing does neither).
/// </summary>
internal static class PythonText
{
    /// <summary>The Unicode White_Space property: what <c>\s</c> matches in the <c>regex</c> module for str patterns.</summary>
    public static bool IsRegexWhiteSpace(int codePoint) => codePoint switch
    {
        >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary><c>str.isspace()</c> for one character: White_Space plus the information separators U+001C-U+001F (bidi class B or S).</summary>
    public static bool IsPythonSpace(int codePoint) => IsRegexWhiteSpace(codePoint) || codePoint is >= 0x1C and <= 0x1F;

    /// <summary><c>str.strip()</c> with no argument.</summary>
    public static string Strip(string text)
    {
        // Every Python space is in the BMP, so UTF-16 units can be tested one by one.
        var start = 0;
        var end = text.Length;
        while (start < end && IsPythonSpace(text[start])) start++;
        while (end > start && IsPythonSpace(text[end - 1])) end--;
        return start == 0 && end == text.Length ? text : text[start..end];
    }

    /// <summary><c>regex.sub(r'\s+', ' ', text)</c>.</summary>
    public static string CollapseWhiteSpace(string text)
    {
        var result = new StringBuilder(text.Length);
        var inRun = false;
        foreach (var c in text)
        {
            if (IsRegexWhiteSpace(c))
            {
                if (!inRun) result.Append(' ');
                inRun = true;
            }
            else
            {
                result.Append(c);
                inRun = false;
            }
        }
        return result.ToString();
    }

    /// <summary><c>str.lower()</c>: the full lower-case mapping with the Final_Sigma condition, and no language-specific rules.</summary>
    public static string Lower(string text)
    {
        var result = new StringBuilder(text.Length);
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case 0x0130:
                    // SpecialCasing.txt: the only unconditional multi-character lower-case mapping.
                    result.Append("i\u0307");
                    break;
                case 0x03A3:
                    result.Append(IsFinalSigma(text, index) ? '\u03C2' : '\u03C3');
                    break;
                default:
                    result.Append(Rune.ToLowerInvariant(rune).ToString());
                    break;
            }
            index += rune.Utf16SequenceLength;
        }
        return result.ToString();
    }

    /// <summary>
    /// Unicode's Final_Sigma condition, tested on the original text as CPython does: a cased letter
    /// before the sigma (skipping case-ignorable characters) and no cased letter after it (likewise).
    /// </summary>
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        Rune previous = default;
        var found = false;
        for (var i = sigmaIndex; i > 0;)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, i), out var rune, out var length);
            i -= length;
            if (!IsCaseIgnorable(rune))
            {
                previous = rune;
                found = true;
                break;
            }
        }
        if (!found || !IsCased(previous)) return false;

        for (var i = sigmaIndex + 1; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var length);
            i += length;
            if (!IsCaseIgnorable(rune)) return !IsCased(rune);
        }
        return true;
    }

    /// <summary>The Cased property: Lowercase, Uppercase or titlecase letter.</summary>
    private static bool IsCased(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
            return true;
        return rune.Value switch
        {
            // Other_Lowercase (PropList.txt).
            0x00AA or 0x00BA or >= 0x02B0 and <= 0x02B8 or 0x02C0 or 0x02C1 or >= 0x02E0 and <= 0x02E4 => true,
            0x0345 or 0x037A or 0x10FC or >= 0x1D2C and <= 0x1D6A or 0x1D78 or >= 0x1D9B and <= 0x1DBF => true,
            0x2071 or 0x207F or >= 0x2090 and <= 0x209C or >= 0x2170 and <= 0x217F or >= 0x24D0 and <= 0x24E9 => true,
            0x2C7C or 0x2C7D or 0xA69C or 0xA69D or 0xA770 or 0xA7F8 or 0xA7F9 or >= 0xAB5C and <= 0xAB5F => true,
            0x10780 or >= 0x10783 and <= 0x10785 or >= 0x10787 and <= 0x107B0 or >= 0x107B2 and <= 0x107BA => true,
            // Other_Uppercase.
            >= 0x2160 and <= 0x216F or >= 0x24B6 and <= 0x24CF => true,
            >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189 => true,
            _ => false,
        };
    }

    /// <summary>The Case_Ignorable property: marks, format characters, modifiers and the word-internal punctuation of UAX #29.</summary>
    private static bool IsCaseIgnorable(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
            return true;
        return rune.Value switch
        {
            // Word_Break = MidLetter, MidNumLet or Single_Quote.
            0x0027 or 0x002E or 0x003A or 0x00B7 or 0x0387 or 0x055F or 0x05F4 => true,
            0x2018 or 0x2019 or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A => true,
            _ => false,
        };
    }
}
