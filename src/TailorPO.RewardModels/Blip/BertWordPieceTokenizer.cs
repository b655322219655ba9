using System.Globalization;
using System.Text;
using System.Text.Json;
using TailorPO.Diffusion.Tokenization;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// transformers' slow <c>BertTokenizer</c> for an uncased vocabulary (bert-base-uncased, as BLIP and ImageReward
/// use it), written to its rules: added and special tokens (<c>[CLS]</c>, <c>[SEP]</c>, <c>[PAD]</c>, <c>[UNK]</c>,
/// <c>[MASK]</c> and the folder's <c>added_tokens.json</c>, e.g. BLIP's <c>[DEC]</c>, <c>[ENC]</c>) are split out of
/// the text first and kept; the rest is cleaned (U+0000, U+FFFD and control characters dropped, white space made a
/// space), CJK ideographs become single words, the text is NFC-normalised, split on white space, lower-cased
/// (Python's <c>str.lower</c>), accents stripped (NFD, then non-spacing marks dropped), split on punctuation
/// (Unicode P* and the ASCII symbols), and each word is cut by WordPiece (greedy longest match, <c>##</c>
/// continuations; a word over 100 characters or without a match is <c>[UNK]</c>).
/// </summary>
public sealed class BertWordPieceTokenizer
{
    private const int MaxWordCharacters = 100;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly string[] _specials;

    private BertWordPieceTokenizer(Dictionary<string, int> vocabulary, IReadOnlyList<string> specials)
    {
        _vocabulary = vocabulary;
        // Longest first, so a special token that is a prefix of another never cuts it short.
        _specials = specials.Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length).ToArray();
        ClsTokenId = Id("[CLS]");
        SepTokenId = Id("[SEP]");
        PadTokenId = Id("[PAD]");
        UnknownTokenId = Id("[UNK]");
    }

    /// <summary>The id of <c>[CLS]</c> (101 in bert-base-uncased).</summary>
    public int ClsTokenId { get; }

    /// <summary>The id of <c>[SEP]</c> (102).</summary>
    public int SepTokenId { get; }

    /// <summary>The id of <c>[PAD]</c> (0).</summary>
    public int PadTokenId { get; }

    /// <summary>The id of <c>[UNK]</c> (100).</summary>
    public int UnknownTokenId { get; }

    /// <summary>Vocabulary size, added tokens included.</summary>
    public int VocabularySize => _vocabulary.Count;

    /// <summary>
    /// Loads a transformers BERT tokenizer folder: <c>vocab.txt</c> (one token per line, the line number is the id)
    /// and, when present, <c>added_tokens.json</c> (token -&gt; id) and <c>special_tokens_map.json</c>.
    /// </summary>
    /// <param name="folder">The tokenizer folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">vocab.txt is missing.</exception>
    /// <exception cref="TokenizerFileException">A file is malformed, or a special token is not in the vocabulary.</exception>
    public static BertWordPieceTokenizer FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"Tokenizer folder '{full}' does not exist.");
        var vocabFile = Path.Combine(full, "vocab.txt");
        if (!File.Exists(vocabFile)) throw new FileNotFoundException($"Tokenizer folder '{full}' has no vocab.txt.", vocabFile);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = File.ReadAllLines(vocabFile, Encoding.UTF8);
        for (var i = 0; i < lines.Length; i++)
            vocabulary.TryAdd(lines[i].TrimEnd('\r', '\n'), i);
        var specials = new List<string> { "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]" };
        var addedFile = Path.Combine(full, "added_tokens.json");
        try
        {
            if (File.Exists(addedFile))
            {
                using var added = JsonDocument.Parse(File.ReadAllText(addedFile));
                foreach (var entry in added.RootElement.EnumerateObject())
                {
                    var id = entry.Value.GetInt32();
                    if (vocabulary.TryGetValue(entry.Name, out var existing) && existing != id)
                        throw new TokenizerFileException(addedFile, null, $"'{entry.Name}' is id {id} here but {existing} in vocab.txt.");
                    vocabulary[entry.Name] = id;
                    specials.Add(entry.Name);
                }
            }
            var mapFile = Path.Combine(full, "special_tokens_map.json");
            if (File.Exists(mapFile))
            {
                using var map = JsonDocument.Parse(File.ReadAllText(mapFile));
                foreach (var property in map.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String) specials.Add(property.Value.GetString()!);
                    else if (property.Value.ValueKind == JsonValueKind.Array)
                        specials.AddRange(property.Value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!));
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new TokenizerFileException(full, null, $"added_tokens.json or special_tokens_map.json is malformed: {e.Message}");
        }
        var missing = specials.Where(s => !vocabulary.ContainsKey(s)).ToList();
        if (missing.Count > 0)
            throw new TokenizerFileException(vocabFile, null, $"the special token(s) {string.Join(", ", missing)} are not in the vocabulary.");
        return new BertWordPieceTokenizer(vocabulary, specials);
    }

    /// <summary>The word pieces of a text (no [CLS]/[SEP]).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        foreach (var (segment, isSpecial) in SplitSpecials(text))
        {
            if (isSpecial)
            {
                pieces.Add(segment);
                continue;
            }
            foreach (var word in BasicTokenize(segment))
                WordPiece(word, pieces);
        }
        return pieces;
    }

    /// <summary>The ids of a text's word pieces (no [CLS]/[SEP]).</summary>
    public int[] Encode(string text) => Tokenize(text).Select(Id).ToArray();

    /// <summary>
    /// Rows for the model, as <c>tokenizer(prompts, padding='max_length', truncation=True, max_length=n)</c>:
    /// <c>[CLS] + ids[:n-2] + [SEP]</c>, padded with <c>[PAD]</c>; the mask is 1 up to and including <c>[SEP]</c>.
    /// </summary>
    /// <param name="prompts">The prompts.</param>
    /// <param name="maxLength">Row length, &gt;= 2.</param>
    /// <returns>int64 ids and mask, both [B, maxLength], on the CPU.</returns>
    /// <exception cref="ArgumentException">No prompts, or a null prompt.</exception>
    public (Tensor InputIds, Tensor AttentionMask) EncodeForModel(IReadOnlyList<string> prompts, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Expected at least one prompt, got none.", nameof(prompts));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var ids = new long[prompts.Count * maxLength];
        var mask = new long[prompts.Count * maxLength];
        for (var row = 0; row < prompts.Count; row++)
        {
            var prompt = prompts[row] ?? throw new ArgumentException($"Prompt {row} is null.", nameof(prompts));
            var pieces = Encode(prompt);
            var kept = Math.Min(pieces.Length, maxLength - 2);
            var offset = row * maxLength;
            ids[offset] = ClsTokenId;
            for (var k = 0; k < kept; k++) ids[offset + 1 + k] = pieces[k];
            ids[offset + kept + 1] = SepTokenId;
            for (var k = kept + 2; k < maxLength; k++) ids[offset + k] = PadTokenId;
            for (var k = 0; k < kept + 2; k++) mask[offset + k] = 1;
        }
        return (tensor(ids, [prompts.Count, maxLength]), tensor(mask, [prompts.Count, maxLength]));
    }

    private int Id(string token) => _vocabulary.TryGetValue(token, out var id) ? id : _vocabulary["[UNK]"];

    // transformers' added-token trie: the earliest occurrence wins, the longest token at that position.
    private IEnumerable<(string Text, bool IsSpecial)> SplitSpecials(string text)
    {
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            var match = _specials.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > start) yield return (text[start..i], false);
            yield return (match, true);
            i += match.Length;
            start = i;
        }
        if (start < text.Length) yield return (text[start..], false);
    }

    private static List<string> BasicTokenize(string text)
    {
        var cleaned = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) cleaned.Append(' ');
            else if (IsCjk(cp)) cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else cleaned.Append(rune.ToString());
        }
        var normalized = cleaned.ToString().Normalize(NormalizationForm.FormC);
        var words = new List<string>();
        foreach (var token in SplitOnPythonWhitespace(normalized))
        {
            var lowered = StripAccents(PythonText.Lower(token));
            SplitOnPunctuation(lowered, words);
        }
        return words;
    }

    private void WordPiece(string word, List<string> pieces)
    {
        var runes = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (runes.Length > MaxWordCharacters)
        {
            pieces.Add("[UNK]");
            return;
        }
        var found = new List<string>();
        var start = 0;
        while (start < runes.Length)
        {
            string? current = null;
            var end = runes.Length;
            for (; end > start; end--)
            {
                var candidate = (start > 0 ? "##" : "") + string.Concat(runes[start..end]);
                if (_vocabulary.ContainsKey(candidate))
                {
                    current = candidate;
                    break;
                }
            }
            if (current is null)
            {
                pieces.Add("[UNK]");
                return;
            }
            found.Add(current);
            start = end;
        }
        pieces.AddRange(found);
    }

    private static IEnumerable<string> SplitOnPythonWhitespace(string text)
    {
        var current = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (PythonText.IsPythonSpace(rune.Value))
            {
                if (current.Length > 0) yield return current.ToString();
                current.Clear();
            }
            else current.Append(rune.ToString());
        }
        if (current.Length > 0) yield return current.ToString();
    }

    private static string StripAccents(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var kept = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) kept.Append(rune.ToString());
        return kept.ToString();
    }

    private static void SplitOnPunctuation(string text, List<string> words)
    {
        var current = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsPunctuation(rune))
            {
                if (current.Length > 0) words.Add(current.ToString());
                current.Clear();
                words.Add(rune.ToString());
            }
            else current.Append(rune.ToString());
        }
        if (current.Length > 0) words.Add(current.ToString());
    }

    // BERT's _is_whitespace: space, \t, \n, \r, and category Zs.
    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    // BERT's _is_control: categories C* except \t, \n, \r (which count as white space).
    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    // BERT's _is_punctuation: the ASCII symbol ranges, and categories P*.
    private static bool IsPunctuation(Rune rune)
    {
        var cp = rune.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    // BERT's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions and compatibility blocks.
    private static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
