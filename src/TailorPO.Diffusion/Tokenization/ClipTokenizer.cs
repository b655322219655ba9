using System.Text;

namespace TailorPO.Diffusion.Tokenization;

// Why our own tokenizer and not Microsoft.ML.Tokenizers 2.0.1: configured as closely as it allows
// (BpeTokenizer with ByteLevel, EndOfWordSuffix "</w>", a RegexPreTokenizer with CLIP's pattern,
// LowerCaseNormalizer, the two special tokens) it reproduced 40 of the 41 fixture prompts and failed
// "salt &amp; pepper &lt;3": it has no HTML unescaping. It also cannot be made exact around it, each of
// these giving other ids than openai/CLIP (checked): .NET Regex classifies UTF-16 units, so letters and
// digits outside the BMP are "other" symbols ("𝔘!" stays one piece, "𝟏𝟐" is not split); its
// normalizer lower-cases with ToLowerInvariant ("İstanbul" keeps İ, no final sigma in "ΟΔΟΣ"); and
// nothing strips what Python's str.strip() strips ("\u001cfoo"). So every step of openai/CLIP's
// SimpleTokenizer.encode (without ftfy) is written out here.

/// <summary>
/// The CLIP byte-level BPE tokenizer of Stable Diffusion, reproducing openai/CLIP's
/// <c>SimpleTokenizer.encode</c> (without ftfy) id for id: <c>html.unescape</c> twice, Python
/// <c>strip</c>, runs of Unicode white space to one space, <c>lower()</c>, CLIP's pre-tokenizer
/// pattern, UTF-8 bytes through the byte alphabet and BPE with <c>&lt;/w&gt;</c> on each word's last symbol.
/// Thread-safe; BPE results are cached per word in a bounded cache.
/// </summary>
/// <remarks>
/// <see cref="EncodeForModel"/> follows SD v1.5 (transformers' <c>CLIPTokenizer</c> with
/// <c>padding="max_length", truncation=True</c>): <c>[bos] + ids[:L-2] + [eos]</c> right-padded with
/// <see cref="PadTokenId"/> (the end token in SD v1.5's folder). SD 2.x's folder names "!" (id 0) as pad
/// token, which equals openai's <c>clip.tokenize(truncate=True)</c> zero padding; use
/// <see cref="WithPadTokenId"/> with <see cref="OpenAiClipPadTokenId"/> for that convention on any vocabulary.
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>CLIP's text context length, used when a folder names none.</summary>
    public const int DefaultModelMaxLength = 77;

    /// <summary>The pad id of openai's <c>clip.tokenize</c> (and of SD 2.x, whose pad token "!" is id 0).</summary>
    public const int OpenAiClipPadTokenId = 0;

    /// <summary>The default bound on the number of words whose BPE result is cached.</summary>
    public const int DefaultCacheCapacity = 1 << 16;

    private readonly IReadOnlyDictionary<string, int> _vocabulary;
    private readonly IReadOnlyDictionary<int, string> _tokens;
    private readonly BytePairEncoder _encoder;

    private ClipTokenizer(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyDictionary<int, string> tokens, BytePairEncoder encoder,
        int bosTokenId, int eosTokenId, int padTokenId, int unknownTokenId, int modelMaxLength)
    {
        _vocabulary = vocabulary;
        _tokens = tokens;
        _encoder = encoder;
        BosTokenId = bosTokenId;
        EosTokenId = eosTokenId;
        PadTokenId = padTokenId;
        UnknownTokenId = unknownTokenId;
        ModelMaxLength = modelMaxLength;
    }

    /// <summary>The id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP).</summary>
    public int BosTokenId { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> (49407 in CLIP).</summary>
    public int EosTokenId { get; }

    /// <summary>The id rows are right-padded with (SD v1.5: the end token; SD 2.x and openai CLIP: 0).</summary>
    public int PadTokenId { get; }

    /// <summary>The id of a symbol missing from the vocabulary (the end token in SD's folders).</summary>
    public int UnknownTokenId { get; }

    /// <summary>The text encoder's context length: the default row length of <see cref="EncodeForModel"/>.</summary>
    public int ModelMaxLength { get; }

    /// <summary>The number of vocabulary entries.</summary>
    public int VocabularySize => _vocabulary.Count;

    /// <summary>The BPE stage (internal, for tests of its cache).</summary>
    internal BytePairEncoder Encoder => _encoder;

    /// <summary>
    /// Loads a Hugging Face / diffusers tokenizer folder (SD's <c>tokenizer/</c>): <c>vocab.json</c> and
    /// <c>merges.txt</c> are required; <c>tokenizer_config.json</c> (model_max_length, special tokens) and
    /// <c>special_tokens_map.json</c> (special tokens, taking precedence) are read when present.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">vocab.json or merges.txt is missing.</exception>
    /// <exception cref="TokenizerFileException">A file is malformed, or names a special token the vocabulary lacks.</exception>
    public static ClipTokenizer FromFolder(string folder, int cacheCapacity = DefaultCacheCapacity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var fullFolder = Path.GetFullPath(folder);
        if (!Directory.Exists(fullFolder))
            throw new DirectoryNotFoundException($"Tokenizer folder '{fullFolder}' does not exist.");
        var vocabulary = ClipTokenizerFiles.ReadVocabularyJson(Path.Combine(fullFolder, "vocab.json"));
        var merges = ClipTokenizerFiles.ReadMergesTxt(Path.Combine(fullFolder, "merges.txt"));
        var settings = ClipTokenizerFiles.ReadSettings(fullFolder);
        var tokens = vocabulary.ToDictionary(p => p.Value, p => p.Key);
        return Create(vocabulary, tokens, merges, settings, Path.Combine(fullFolder, "vocab.json"), cacheCapacity);
    }

    /// <summary>
    /// Loads openai/CLIP's original merges file <c>bpe_simple_vocab_16e6.txt</c> or its <c>.gz</c>,
    /// building the vocabulary as <c>SimpleTokenizer</c> does (ids identical to SD's <c>vocab.json</c>).
    /// Rows are padded with the end token (SD v1.5) unless <paramref name="padTokenId"/> says otherwise
    /// (<see cref="OpenAiClipPadTokenId"/> for <c>clip.tokenize</c>'s zeros).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TokenizerFileException">The file is malformed or too short.</exception>
    public static ClipTokenizer FromBpeMergesFile(string path, int? padTokenId = null, int modelMaxLength = DefaultModelMaxLength,
        int cacheCapacity = DefaultCacheCapacity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var merges = ClipTokenizerFiles.ReadOpenAiBpeFile(path);
        var (vocabulary, tokens) = ClipTokenizerFiles.BuildOpenAiVocabulary(merges);
        var tokenizer = Create(vocabulary, tokens, merges, new ClipTokenizerSettings { ModelMaxLength = ValidateMaxLength(modelMaxLength, nameof(modelMaxLength)) },
            Path.GetFullPath(path), cacheCapacity);
        return padTokenId is { } pad ? tokenizer.WithPadTokenId(pad) : tokenizer;
    }

    private static ClipTokenizer Create(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyDictionary<int, string> tokens,
        IReadOnlyList<(string, string)> merges, ClipTokenizerSettings settings, string vocabularySource, int cacheCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cacheCapacity);
        int IdOf((string Token, string Source) special, string role)
        {
            if (vocabulary.TryGetValue(special.Token, out var id)) return id;
            var named = special.Source == "default" ? $"the default {role}" : $"the {role} named in '{special.Source}'";
            throw new TokenizerFileException(vocabularySource, null, $"{named}, {ClipTokenizerFiles.Quote(special.Token)}, is not in the vocabulary.");
        }

        var bos = IdOf(settings.BosToken, "bos_token");
        var eos = IdOf(settings.EosToken, "eos_token");
        var pad = IdOf(settings.PadToken, "pad_token");
        var unknown = IdOf(settings.UnknownToken, "unk_token");
        // SimpleTokenizer maps exactly these two strings straight to their ids when the pattern isolates them.
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in new[] { ClipTokenizerFiles.StartOfText, ClipTokenizerFiles.EndOfText })
            if (vocabulary.TryGetValue(name, out var id)) specials[name] = id;
        var encoder = new BytePairEncoder(vocabulary, merges, specials, unknown, cacheCapacity);
        return new ClipTokenizer(vocabulary, tokens, encoder, bos, eos, pad, unknown, settings.ModelMaxLength ?? DefaultModelMaxLength);
    }

    /// <summary>The same tokenizer (sharing vocabulary and cache) padding rows with <paramref name="padTokenId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public ClipTokenizer WithPadTokenId(int padTokenId)
    {
        if (!_tokens.ContainsKey(padTokenId))
            throw new ArgumentOutOfRangeException(nameof(padTokenId), padTokenId, $"Pad token id {padTokenId} is not in the vocabulary of {VocabularySize} tokens.");
        return new ClipTokenizer(_vocabulary, _tokens, _encoder, BosTokenId, EosTokenId, padTokenId, UnknownTokenId, ModelMaxLength);
    }

    /// <summary>The text after CLIP's clean-up: unescaped, white space collapsed and trimmed, lower-cased.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> holds an unpaired surrogate (not encodable as UTF-8).</exception>
    public static string CleanText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Python would fail at str.encode('utf-8'); checked first because lower-casing would replace it.
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsSurrogatePair(text, i)) i++;
            else throw new ArgumentException($"The text holds an unpaired UTF-16 surrogate at index {i}; it cannot be encoded as UTF-8.", nameof(text));
        }
        var unescaped = PythonHtml.Unescape(PythonHtml.Unescape(text));
        return PythonText.Lower(PythonText.Strip(PythonText.CollapseWhiteSpace(PythonText.Strip(unescaped))));
    }

    /// <summary>The BPE ids of <paramref name="text"/>: no bos/eos, no truncation, no padding.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> holds an unpaired surrogate (not encodable as UTF-8).</exception>
    public int[] Encode(string text) => [.. EncodeIds(text, int.MaxValue)];

    // BPE ids of the pieces in order, stopping after the piece that brings the count to stopAfter or more
    // (each piece is always encoded whole, so the ids kept are exactly the first ones of the full encoding).
    private List<int> EncodeIds(string text, int stopAfter)
    {
        var ids = new List<int>();
        foreach (var piece in ClipPreTokenizer.Split(CleanText(text)))
        {
            _encoder.Encode(piece, ids);
            if (ids.Count >= stopAfter) break;
        }
        return ids;
    }

    /// <summary>The vocabulary strings of <see cref="Encode"/>'s ids (e.g. <c>"cat&lt;/w&gt;"</c>).</summary>
    public IReadOnlyList<string> Tokenize(string text) => Encode(text).Select(id => _tokens[id]).ToArray();

    /// <summary>
    /// Encodes prompts for the text encoder: each row is <c>[bos] + ids[:maxLength-2] + [eos]</c>,
    /// right-padded with <see cref="PadTokenId"/> to <paramref name="maxLength"/> (default <see cref="ModelMaxLength"/>).
    /// BPE stops once a row is full, so a long prompt costs no more than the row needs (see
    /// <see cref="ClipTokenBatch.TokenCounts"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="prompts"/> or one of them is null.</exception>
    /// <exception cref="ArgumentException">No prompts, or <paramref name="maxLength"/> is below 2.</exception>
    public ClipTokenBatch EncodeForModel(IReadOnlyList<string> prompts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Expected at least one prompt, got none.", nameof(prompts));
        var length = maxLength is { } given ? ValidateMaxLength(given, nameof(maxLength)) : ModelMaxLength;
        var content = length - 2;

        var ids = new long[prompts.Count, length];
        var mask = new long[prompts.Count, length];
        var counts = new int[prompts.Count];
        for (var row = 0; row < prompts.Count; row++)
        {
            var prompt = prompts[row] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {row} is null.");
            // BPE stops once the row is known to be full (words are encoded whole, so the ids kept are exact).
            var bpe = EncodeIds(prompt, content + 1);
            counts[row] = bpe.Count;
            var kept = Math.Min(bpe.Count, content);
            ids[row, 0] = BosTokenId;
            for (var k = 0; k < kept; k++) ids[row, k + 1] = bpe[k];
            ids[row, kept + 1] = EosTokenId;
            for (var k = kept + 2; k < length; k++) ids[row, k] = PadTokenId;
            for (var k = 0; k < kept + 2; k++) mask[row, k] = 1;
        }
        return new ClipTokenBatch(ids, mask, counts, content);
    }

    /// <summary>
    /// Text of token ids: the tokens' bytes decoded as UTF-8 (invalid sequences become U+FFFD),
    /// each <c>&lt;/w&gt;</c> read as a space, the result stripped, as transformers' CLIPTokenizer decodes.
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecialTokens">Leave out bos and eos ids (padding with another id is kept).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var id in ids)
        {
            if (!_tokens.TryGetValue(id, out var token))
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in the vocabulary of {VocabularySize} tokens.");
            if (skipSpecialTokens && (id == BosTokenId || id == EosTokenId)) continue;
            foreach (var rune in token.EnumerateRunes())
            {
                var b = rune.IsBmp ? ByteLevelAlphabet.CharToByte((char)rune.Value) : -1;
                if (b >= 0)
                {
                    bytes.Add((byte)b);
                }
                else
                {
                    // A symbol outside the byte alphabet (only in a foreign vocabulary): keep its own text.
                    var written = rune.EncodeToUtf8(utf8);
                    for (var k = 0; k < written; k++) bytes.Add(utf8[k]);
                }
            }
        }
        var text = Encoding.UTF8.GetString([.. bytes]).Replace(BytePairEncoder.EndOfWord, " ", StringComparison.Ordinal);
        return PythonText.Strip(text);
    }

    /// <summary>The vocabulary string of <paramref name="id"/>, or null when the vocabulary has no such id.</summary>
    public string? IdToToken(int id) => _tokens.TryGetValue(id, out var token) ? token : null;

    /// <summary>The id of a vocabulary string (e.g. <c>"cat&lt;/w&gt;"</c>), or null when absent.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _vocabulary.TryGetValue(token, out var id) ? id : null;
    }

    private static int ValidateMaxLength(int maxLength, string name) =>
        maxLength >= 2 ? maxLength : throw new ArgumentOutOfRangeException(name, maxLength, $"The row length must be at least 2 (bos + eos), got {maxLength}.");
}
