using System.Globalization;
using System.Text;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// Splits cleaned text into the pieces openai/CLIP's pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// finds with the Python <c>regex</c> module and IGNORECASE. Written as a scanner over code points
/// because .NET's Regex classifies UTF-16 units: a letter or digit outside the BMP (𝔘, 𝟏) is two
/// surrogates there, which <c>\p{L}</c> and <c>\p{N}</c> never match.
/// </summary>
internal static class ClipPreTokenizer
{
    private static readonly string[] Specials = ["<|startoftext|>", "<|endoftext|>"];
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>The pieces of <paramref name="text"/> in order; characters no alternative matches (white space) are skipped.</summary>
    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var length = MatchLiteral(text, i, Specials);
            if (length == 0) length = MatchLiteral(text, i, Contractions);
            if (length == 0)
            {
                var kind = Classify(text, i, out var width);
                switch (kind)
                {
                    case CharacterKind.Letter:
                        length = RunLength(text, i, CharacterKind.Letter);
                        break;
                    case CharacterKind.Number:
                        length = width;
                        break;
                    case CharacterKind.Other:
                        length = RunLength(text, i, CharacterKind.Other);
                        break;
                    default:
                        i += width;
                        continue;
                }
            }
            pieces.Add(text.Substring(i, length));
            i += length;
        }
        return pieces;
    }

    private enum CharacterKind { Letter, Number, Other, Unmatched }

    private static int RunLength(string text, int start, CharacterKind kind)
    {
        var end = start;
        while (end < text.Length && Classify(text, end, out var width) == kind) end += width;
        return end - start;
    }

    private static CharacterKind Classify(string text, int index, out int width)
    {
        var status = Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out width);
        if (status != System.Buffers.OperationStatus.Done)
            throw new ArgumentException($"The text holds an unpaired UTF-16 surrogate at index {index}; it cannot be encoded as UTF-8.", nameof(text));
        if (PythonText.IsRegexWhiteSpace(rune.Value)) return CharacterKind.Unmatched;
        // With IGNORECASE the regex module tests a character's case variants against each class; the
        // combining ypogegrammeni folds to the letter iota, so it leaves [^\s\p{L}\p{N}] while staying
        // outside [\p{L}] (a Mn mark) and is matched by no alternative at all.
        if (rune.Value == 0x0345) return CharacterKind.Unmatched;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharacterKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharacterKind.Number,
            _ => CharacterKind.Other,
        };
    }

    /// <summary>Length of the first literal matching at <paramref name="start"/> case-insensitively, else 0.</summary>
    private static int MatchLiteral(string text, int start, string[] literals)
    {
        foreach (var literal in literals)
        {
            if (start + literal.Length > text.Length) continue;
            var matches = true;
            for (var k = 0; k < literal.Length && matches; k++)
                matches = IgnoreCaseEquals(text[start + k], literal[k]);
            if (matches) return literal.Length;
        }
        return 0;
    }

    // The literals are ASCII; under the regex module's IGNORECASE an ASCII letter also matches its
    // other case, and 's' also matches U+017F LATIN SMALL LETTER LONG S (simple case folding). No
    // other character folds to a letter of these literals.
    private static bool IgnoreCaseEquals(char c, char literal) =>
        c == literal
        || (char.IsAsciiLetter(literal) && c == (char)(literal ^ 0x20))
        || (literal == 's' && c == '\u017F');
}
