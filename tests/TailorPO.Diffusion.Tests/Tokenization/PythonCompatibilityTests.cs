using TailorPO.Diffusion.Tokenization;

namespace TailorPO.Diffusion.Tests.Tokenization;

/// <summary>
/// The Python behaviours openai/CLIP's clean-up and pattern rely on. Expected values come from the
/// documents cited beside each case (the HTML Standard, the Python documentation, the Unicode
/// Character Database), not from this implementation.
/// </summary>
public class PythonCompatibilityTests
{
    // ---- html.unescape -------------------------------------------------------------------------
    // Python docs, html.unescape: "Convert all named and numeric character references [...] This
    // function uses the rules defined by the HTML 5 standard for both valid and invalid character
    // references, and the list of HTML 5 named character references."

    [Theory]
    // HTML Standard, named character references table: "amp" and "lt" are listed both with and without
    // the semicolon (legacy names), "AMP;" too; references are case-sensitive ("Amp" is not listed).
    [InlineData("salt &amp; pepper", "salt & pepper")]
    [InlineData("salt &amp pepper", "salt & pepper")]
    [InlineData("&lt3", "<3")]
    [InlineData("&AMP;", "&")]
    [InlineData("&Amp;", "&Amp;")]
    // HTML Standard, 13.2.5.73 "Named character reference state", its own example: "I'm &notit; I tell
    // you" is read as the legacy "not" followed by "it;", while "&notin;" is the full name ∉.
    [InlineData("I'm &notit; I tell you", "I'm ¬it; I tell you")]
    [InlineData("I'm &notin; I tell you", "I'm ∉ I tell you")]
    // A legacy prefix inside a longer run of name characters: "&ampx" -> "&" + "x".
    [InlineData("&ampx", "&x")]
    // Names not in the table (and no legacy prefix) stay as written; so do a bare '&' and "& amp;".
    [InlineData("&foo; & amp;", "&foo; & amp;")]
    [InlineData("AT&T", "AT&T")]
    // Non-ASCII named references from the table.
    [InlineData("&eacute;&hellip;&Sigma;", "é…Σ")]
    public void Named_references_follow_the_html5_table_including_legacy_names(string text, string expected) =>
        Assert.Equal(expected, PythonHtml.Unescape(text));

    [Theory]
    // Decimal and hexadecimal references, with or without ';' (Python's pattern makes ';' optional).
    [InlineData("&#65;&#x42;&#X43&#68", "ABCD")]
    [InlineData("&#39;quoted&#x27;", "'quoted'")]
    // HTML Standard, 13.2.5.80 "Numeric character reference end state": 0x00 -> U+FFFD; a surrogate or a
    // value above 0x10FFFF -> U+FFFD; 0x80-0x9F through the replacement table (0x80 -> U+20AC EURO SIGN,
    // 0x92 -> U+2019, 0x9F -> U+0178, 0x81 has no replacement and stays U+0081).
    [InlineData("&#0;", "\uFFFD")]
    [InlineData("&#xD800;", "\uFFFD")]
    [InlineData("&#x110000;", "\uFFFD")]
    [InlineData("&#99999999999999999999999;", "\uFFFD")]
    [InlineData("&#128;", "€")]
    [InlineData("&#x92;", "\u2019")]
    [InlineData("&#159;", "\u0178")]
    [InlineData("&#x81;", "\u0081")]
    // CR stays CR (Python's _invalid_charrefs maps 0x0D to '\r').
    [InlineData("a&#13;b", "a\rb")]
    // CPython Lib/html/__init__.py, _invalid_codepoints: control characters other than tab/LF/FF/CR,
    // DEL and the noncharacters U+FDD0-U+FDEF, U+FFFE, U+xFFFF are removed (replaced by '').
    [InlineData("a&#1;b&#x0B;c&#127;d&#xFDD0;e&#xFFFF;f&#x10FFFE;g", "abcdefg")]
    // Tab, LF and FF are ordinary code points.
    [InlineData("a&#9;b", "a\tb")]
    // "&#" or "&#x" without digits is not a reference.
    [InlineData("&#; &#x; &#xg;", "&#; &#x; &#xg;")]
    public void Numeric_references_follow_the_html5_rules(string text, string expected) =>
        Assert.Equal(expected, PythonHtml.Unescape(text));

    [Fact]
    public void Unescaping_twice_decodes_a_double_escaped_reference()
    {
        // openai/CLIP basic_clean: html.unescape(html.unescape(text)); "&amp;lt;" -> "&lt;" -> "<".
        Assert.Equal("&lt;", PythonHtml.Unescape("&amp;lt;"));
        Assert.Equal("<", ClipTokenizer.CleanText("&amp;lt;"));
    }

    [Fact]
    public void Unescape_differs_from_WebUtility_HtmlDecode_on_legacy_names()
    {
        // The reason for our own implementation: .NET's decoder leaves "&amp" (no ';') alone.
        Assert.Equal("&amp x", System.Net.WebUtility.HtmlDecode("&amp x"));
        Assert.Equal("& x", PythonHtml.Unescape("&amp x"));
    }

    // ---- white space, strip, lower --------------------------------------------------------------

    [Fact]
    public void Strip_removes_the_information_separators_as_str_isspace_does()
    {
        // Python docs, str.isspace: whitespace = general category Zs or bidirectional class WS, B or S.
        // UnicodeData.txt: U+001C..U+001E have bidi class B, U+001F class S, so str.strip() removes them;
        // U+200B ZERO WIDTH SPACE is Cf with bidi class BN, so it stays.
        Assert.Equal("foo", PythonText.Strip("\u001c\u001d foo\u001e\u001f"));
        Assert.Equal("\u200bfoo", PythonText.Strip("\u200bfoo "));
        Assert.Equal("foo", ClipTokenizer.CleanText("\u001cFOO\u001f"));
    }

    [Fact]
    public void Runs_of_unicode_white_space_become_one_space()
    {
        // regex module, \s on str patterns: the Unicode White_Space property (PropList.txt), which holds
        // U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 but not the
        // information separators U+001C..U+001F nor U+200B.
        Assert.Equal("a b c d", PythonText.CollapseWhiteSpace("a\u0085\u00a0b\u2003\u2028\u3000c\t\r\n d"));
        Assert.Equal("a\u001cb\u200bc", PythonText.CollapseWhiteSpace("a\u001cb\u200bc"));
    }

    [Fact]
    public void Lower_uses_the_full_mapping_and_final_sigma()
    {
        // Python docs, str.lower: "The lowercasing algorithm used is described in section 3.13 'Default
        // Case Folding' of the Unicode Standard": SpecialCasing.txt maps U+0130 to U+0069 U+0307, and
        // capital sigma becomes final sigma (U+03C2) at the end of a word (Final_Sigma, Table 3-17).
        Assert.Equal("i\u0307stanbul", PythonText.Lower("\u0130STANBUL"));
        Assert.Equal("οδος οδοσ\u0301x", PythonText.Lower("ΟΔΟΣ ΟΔΟΣ\u0301X"));
        Assert.Equal("σ", PythonText.Lower("Σ"));
        Assert.Equal("ας.", PythonText.Lower("ΑΣ."));
        // Characters outside the BMP have case too (U+10400 DESERET CAPITAL LONG I -> U+10428).
        Assert.Equal("\U00010428", PythonText.Lower("\U00010400"));
    }

    // ---- CLIP's pattern (regex module, IGNORECASE) -----------------------------------------------

    [Fact]
    public void Letters_and_digits_outside_the_bmp_are_classified_by_code_point()
    {
        // UnicodeData.txt: U+1D518 MATHEMATICAL FRAKTUR CAPITAL U is Lu, so [\p{L}]+ takes it and '!' is
        // a separate [^\s\p{L}\p{N}]+ piece; U+1D7CF/U+1D7D0 MATHEMATICAL BOLD DIGIT ONE/TWO are Nd, so
        // [\p{N}] takes them one by one.
        Assert.Equal(["\U0001D518", "!"], ClipPreTokenizer.Split("\U0001D518!"));
        Assert.Equal(["a", "\U0001D7CF", "\U0001D7D0", "b"], ClipPreTokenizer.Split("a\U0001D7CF\U0001D7D0b"));
    }

    [Theory]
    // The special tokens first, then the seven contractions, a run of letters, ONE digit, a run of other
    // symbols; white space is matched by no alternative and skipped.
    [InlineData("it's 42!? <|endoftext|>x", new[] { "it", "'s", "4", "2", "!?", "<|endoftext|>", "x" })]
    [InlineData("they're don't i'd we'll i'm you've", new[] { "they", "'re", "don", "'t", "i", "'d", "we", "'ll", "i", "'m", "you", "'ve" })]
    // Only those seven follow an apostrophe as a piece: "'quoted'" starts with a symbol run.
    [InlineData("'quoted' l'été", new[] { "'", "quoted", "'", "l", "'", "été" })]
    // A symbol run is greedy and does not stop at '<', so a special token right after a symbol is not isolated.
    [InlineData("!<|endoftext|>", new[] { "!<|", "endoftext", "|>" })]
    // IGNORECASE: the literals also match other cases (CaseFolding.txt "017F; C; 0073": U+017F LATIN
    // SMALL LETTER LONG S folds to 's', so "'ſ" is the contraction "'s").
    [InlineData("IT'S it'ſ", new[] { "IT", "'S", "it", "'ſ" })]
    public void Pattern_alternatives_apply_in_order(string text, string[] expected) =>
        Assert.Equal(expected, ClipPreTokenizer.Split(text));

    [Fact]
    public void Combining_ypogegrammeni_is_matched_by_no_alternative()
    {
        // U+0345 is a nonspacing mark (not in \p{L}) whose case fold is U+03B9 (CaseFolding.txt
        // "0345; C; 03B9"), a letter: under IGNORECASE the regex module (checked with regex 2026.5.9)
        // then keeps it out of [^\s\p{L}\p{N}] as well, so findall skips it like white space.
        Assert.Equal(["a", "b"], ClipPreTokenizer.Split("a\u0345b"));
    }
}
