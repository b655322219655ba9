using System.Text;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// Python's <c>html.unescape</c> (CPython 3.11 <c>Lib/html/__init__.py</c>), which openai/CLIP's
/// tokenizer applies twice to every prompt. <see cref="System.Net.WebUtility.HtmlDecode(string)"/> is not
/// the same function: Python follows the HTML Standard's character-reference rules, so it decodes
/// legacy names without a semicolon (<c>&amp;amp</c>, and <c>&amp;notit;</c> as <c>¬it;</c> by the
/// longest legacy prefix), maps numeric references 0x80-0x9F through the windows-1252 table, turns
/// 0, surrogates and values above U+10FFFF into U+FFFD and drops the HTML "invalid" code points.
/// </summary>
internal static class PythonHtml
{
    // A named reference is 1-32 characters from this complement set, then an optional ';'.
    private const int MaxNameLength = 32;

    /// <summary>Replaces every character reference the way <c>html.unescape</c> does.</summary>
    public static string Unescape(string text)
    {
        if (!text.Contains('&')) return text;

        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var amp = text.IndexOf('&', i);
            if (amp < 0)
            {
                result.Append(text, i, text.Length - i);
                break;
            }
            result.Append(text, i, amp - i);
            var end = TryReplace(text, amp + 1, result);
            if (end < 0)
            {
                // No reference starts here: the '&' stays and scanning resumes right after it.
                result.Append('&');
                i = amp + 1;
            }
            else
            {
                i = end;
            }
        }
        return result.ToString();
    }

    /// <summary>Appends the replacement of a reference starting at <paramref name="start"/> (just after '&amp;') and returns where it ends, or -1 when none matches there.</summary>
    private static int TryReplace(string text, int start, StringBuilder result)
    {
        if (start >= text.Length) return -1;
        if (text[start] == '#') return TryReplaceNumeric(text, start + 1, result);

        // Python counts the 32 in code points: a surrogate pair is one character.
        var end = start;
        var codePoints = 0;
        while (end < text.Length && codePoints < MaxNameLength && IsNameCharacter(text[end]))
        {
            end += char.IsSurrogatePair(text, end) ? 2 : 1;
            codePoints++;
        }
        if (end == start) return -1;
        if (end < text.Length && text[end] == ';') end++;

        var name = text[start..end];
        var names = HtmlNamedCharacterReferences.ByName;
        if (names.TryGetValue(name, out var replacement))
        {
            result.Append(replacement);
            return end;
        }
        // The longest proper prefix of at least two characters that is a reference name wins; the
        // rest of the matched name is kept as text.
        for (var length = name.Length - 1; length >= 2; length--)
        {
            if (names.TryGetValue(name[..length], out replacement))
            {
                result.Append(replacement).Append(name, length, name.Length - length);
                return end;
            }
        }
        result.Append('&').Append(name);
        return end;
    }

    // The name class of Python's pattern: anything but tab, line feed, form feed, space, '<', '&', '#', ';'.
    private static bool IsNameCharacter(char c) =>
        c is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';');

    private static int TryReplaceNumeric(string text, int start, StringBuilder result)
    {
        var hex = start < text.Length && text[start] is 'x' or 'X';
        var digitsStart = hex ? start + 1 : start;
        var end = digitsStart;
        // Python's int() is unbounded; saturating above U+10FFFF gives the same outcome (U+FFFD).
        long value = 0;
        while (end < text.Length && (hex ? char.IsAsciiHexDigit(text[end]) : char.IsAsciiDigit(text[end])))
        {
            var c = text[end];
            var digit = char.IsAsciiDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
            value = Math.Min(value * (hex ? 16 : 10) + digit, 0x110000);
            end++;
        }
        if (end == digitsStart)
        {
            // "&#" or "&#x" without digits matches no alternative of Python's pattern ('#' is not a name character).
            return -1;
        }
        if (end < text.Length && text[end] == ';') end++;
        result.Append(NumericReplacement((int)value));
        return end;
    }

    private static string NumericReplacement(int codePoint)
    {
        if (Windows1252Replacement(codePoint) is { } mapped) return mapped;
        if (codePoint is >= 0xD800 and <= 0xDFFF || codePoint > 0x10FFFF) return "\uFFFD";
        if (IsInvalidCodePoint(codePoint)) return string.Empty;
        return char.ConvertFromUtf32(codePoint);
    }

    // Python's _invalid_charrefs: 0 -> U+FFFD, CR stays CR, 0x80-0x9F read as windows-1252 (its five
    // unassigned bytes keep their C1 control code point).
    private static string? Windows1252Replacement(int codePoint) => codePoint switch
    {
        0x00 => "\uFFFD",
        0x0D => "\r",
        >= 0x80 and <= 0x9F => Windows1252High[codePoint - 0x80].ToString(),
        _ => null,
    };

    private static readonly char[] Windows1252High =
    [
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    ];

    // Python's _invalid_codepoints: C0 controls except tab/LF/FF/CR (and NUL, handled above), DEL and
    // the C1 range, the noncharacters U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane.
    private static bool IsInvalidCodePoint(int c) =>
        c is >= 0x01 and <= 0x08 or 0x0B or >= 0x0E and <= 0x1F or >= 0x7F and <= 0x9F or >= 0xFDD0 and <= 0xFDEF
        || (c & 0xFFFE) == 0xFFFE;
}
