using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TailorPO.Core.Json;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>Reads and validates the files a CLIP tokenizer is made from.</summary>
internal static class ClipTokenizerFiles
{
    /// <summary>The number of merges openai/CLIP takes from <c>bpe_simple_vocab_16e6.txt</c>: 49152 - 256 - 2.</summary>
    public const int OpenAiMergeCount = 49152 - 256 - 2;

    /// <summary>The special token names SD's tokenizer folders use.</summary>
    public const string StartOfText = "<|startoftext|>";

    /// <summary>The end-of-text token (also pad and unknown token in SD v1.5's folder).</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Reads a Hugging Face <c>vocab.json</c>: one JSON object of token to non-negative integer id, ids unique.</summary>
    public static Dictionary<string, int> ReadVocabularyJson(string path)
    {
        var fullPath = RequireFile(path);
        var document = ParseStrict(fullPath);
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new TokenizerFileException(fullPath, null, $"expected a JSON object mapping tokens to ids, got a JSON {document.RootElement.ValueKind}.");
            var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
            var tokenOfId = new Dictionary<int, string>();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                    throw new TokenizerFileException(fullPath, null, $"token {Quote(entry.Name)} has id {entry.Value.GetRawText()}; expected a non-negative 32-bit integer.");
                if (tokenOfId.TryGetValue(id, out var other))
                    throw new TokenizerFileException(fullPath, null, $"id {id} is given to both {Quote(other)} and {Quote(entry.Name)}; ids must be unique.");
                if (!vocabulary.TryAdd(entry.Name, id))
                    throw new TokenizerFileException(fullPath, null, $"token {Quote(entry.Name)} is listed twice.");
                tokenOfId.Add(id, entry.Name);
            }
            if (vocabulary.Count == 0)
                throw new TokenizerFileException(fullPath, null, "the vocabulary is empty.");
            return vocabulary;
        }
    }

    /// <summary>
    /// Reads a Hugging Face <c>merges.txt</c>: an optional <c>#version</c> header, then one merge per
    /// line, two symbols separated by a space. Trailing empty lines are ignored.
    /// </summary>
    public static List<(string First, string Second)> ReadMergesTxt(string path)
    {
        var fullPath = RequireFile(path);
        var lines = SplitLines(ReadUtf8Strict(fullPath));
        var first = lines.Count > 0 && lines[0].StartsWith("#version", StringComparison.Ordinal) ? 1 : 0;
        var last = lines.Count;
        while (last > first && lines[last - 1].Trim().Length == 0) last--;
        var merges = new List<(string, string)>(last - first);
        for (var i = first; i < last; i++) merges.Add(ParseMerge(fullPath, i + 1, lines[i]));
        if (merges.Count == 0)
            throw new TokenizerFileException(fullPath, null, "no merge rules found (expected '#version: 0.2' then lines of two space-separated symbols).");
        return merges;
    }

    /// <summary>
    /// Reads openai/CLIP's <c>bpe_simple_vocab_16e6.txt</c> (gzip-compressed or not, told by its first
    /// bytes) as <c>SimpleTokenizer</c> does: lines 2 to <see cref="OpenAiMergeCount"/> + 1.
    /// </summary>
    public static List<(string First, string Second)> ReadOpenAiBpeFile(string path)
    {
        var fullPath = RequireFile(path);
        string text;
        try
        {
            using var file = File.OpenRead(fullPath);
            var isGzip = file.ReadByte() == 0x1F && file.ReadByte() == 0x8B;
            file.Position = 0;
            using Stream content = isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var reader = new StreamReader(content, new UTF8Encoding(false, throwOnInvalidBytes: true));
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException)
        {
            throw new TokenizerFileException(fullPath, null, $"cannot be read as (gzip-compressed) UTF-8 text: {e.Message}", e);
        }

        var lines = text.Split('\n');
        var available = Math.Max(0, lines.Length - 1);
        if (available < OpenAiMergeCount)
            throw new TokenizerFileException(fullPath, null,
                $"holds {available} merge lines after the header; openai/CLIP's vocabulary needs the first {OpenAiMergeCount}.");
        var merges = new List<(string, string)>(OpenAiMergeCount);
        for (var i = 1; i <= OpenAiMergeCount; i++) merges.Add(ParseMerge(fullPath, i + 1, lines[i]));
        return merges;
    }

    /// <summary>
    /// The vocabulary <c>SimpleTokenizer</c> builds from its merges: the 256 byte symbols, the same with
    /// <c>&lt;/w&gt;</c>, each merge's concatenation, then the start and end tokens. A string listed twice
    /// keeps its last id, as Python's <c>dict(zip(vocab, range(len(vocab))))</c> does.
    /// </summary>
    public static (Dictionary<string, int> Vocabulary, Dictionary<int, string> Tokens) BuildOpenAiVocabulary(
        IReadOnlyList<(string First, string Second)> merges)
    {
        var ordered = new List<string>(2 * 256 + merges.Count + 2);
        foreach (var c in ByteLevelAlphabet.SymbolsInVocabularyOrder) ordered.Add(c.ToString());
        foreach (var c in ByteLevelAlphabet.SymbolsInVocabularyOrder) ordered.Add(c + BytePairEncoder.EndOfWord);
        foreach (var (first, second) in merges) ordered.Add(first + second);
        ordered.Add(StartOfText);
        ordered.Add(EndOfText);

        var vocabulary = new Dictionary<string, int>(ordered.Count, StringComparer.Ordinal);
        var tokens = new Dictionary<int, string>(ordered.Count);
        for (var id = 0; id < ordered.Count; id++)
        {
            vocabulary[ordered[id]] = id;
            tokens[id] = ordered[id];
        }
        return (vocabulary, tokens);
    }

    /// <summary>The settings a tokenizer folder's <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> give (each optional).</summary>
    public static ClipTokenizerSettings ReadSettings(string folder)
    {
        var settings = new ClipTokenizerSettings();
        var configPath = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            using var config = ParseJsonObject(configPath);
            settings = ApplySpecialTokens(settings, config.RootElement, configPath);
            if (config.RootElement.TryGetProperty("model_max_length", out var maxLength))
                settings = settings with { ModelMaxLength = ReadModelMaxLength(configPath, maxLength) };
        }
        // transformers lets special_tokens_map.json override the config's special tokens.
        var mapPath = Path.Combine(folder, "special_tokens_map.json");
        if (File.Exists(mapPath))
        {
            using var map = ParseJsonObject(mapPath);
            settings = ApplySpecialTokens(settings, map.RootElement, mapPath);
        }
        return settings;
    }

    private static ClipTokenizerSettings ApplySpecialTokens(ClipTokenizerSettings settings, JsonElement root, string path) =>
        settings with
        {
            BosToken = ReadToken(root, "bos_token", path) ?? settings.BosToken,
            EosToken = ReadToken(root, "eos_token", path) ?? settings.EosToken,
            PadToken = ReadToken(root, "pad_token", path) ?? settings.PadToken,
            UnknownToken = ReadToken(root, "unk_token", path) ?? settings.UnknownToken,
        };

    // A special token is written either as a string or as an AddedToken object with "content".
    private static (string Token, string Source)? ReadToken(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return (value.GetString()!, path);
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            return (content.GetString()!, path);
        throw new TokenizerFileException(path, null, $"'{name}' is {value.GetRawText()}; expected a string or an object with a string 'content'.");
    }

    private static int? ReadModelMaxLength(string path, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number != Math.Floor(number) || number < 2)
            throw new TokenizerFileException(path, null, $"'model_max_length' is {value.GetRawText()}; expected an integer of at least 2 (bos + eos).");
        // transformers writes a huge sentinel (int(1e30)) for "no limit"; CLIP's context length then applies.
        return number > int.MaxValue ? null : (int)number;
    }

    // One JSON rule for every file (StrictJson): valid UTF-8, no key twice, no lone surrogate; the file is named.
    private static JsonDocument ParseStrict(string path)
    {
        if (!StrictJson.TryParseFile(path, default, out var document, out var problem, out var line))
            throw new TokenizerFileException(path, line, problem);
        return document;
    }

    private static JsonDocument ParseJsonObject(string path)
    {
        var document = ParseStrict(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new TokenizerFileException(path, null, $"expected a JSON object, got a JSON {kind}.");
        }
        return document;
    }

    private static (string, string) ParseMerge(string path, int lineNumber, string line)
    {
        // Fast path for the usual "a b" line; anything else goes through the general split below.
        var space = line.IndexOf(' ');
        if (space > 0 && space < line.Length - 1 && line.IndexOf(' ', space + 1) < 0 && line.AsSpan().IndexOfAny('\t', '\r') < 0)
            return (line[..space], line[(space + 1)..]);
        var parts = line.Split(MergeSeparators, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
            throw new TokenizerFileException(path, lineNumber,
                $"expected a merge rule of two space-separated symbols, got {Quote(line)}.");
        return (parts[0], parts[1]);
    }

    /// <summary>A string as a JSON literal for messages, keeping '&lt;', '|' and non-ASCII text readable.</summary>
    public static string Quote(string text) =>
        JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static readonly char[] MergeSeparators = [' ', '\t', '\r'];

    private static List<string> SplitLines(string text) => [.. text.Split('\n')];

    /// <summary>The file as UTF-8 text (a leading byte-order mark skipped); invalid UTF-8 is refused with its line, never replaced by U+FFFD.</summary>
    private static string ReadUtf8Strict(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var span = bytes.AsSpan(start);
        var status = System.Text.Unicode.Utf8.ToUtf16(span, new char[span.Length], out var read, out var written,
            replaceInvalidSequences: false, isFinalBlock: true);
        if (status != System.Buffers.OperationStatus.Done)
        {
            int line = 1 + span[..read].Count((byte)'\n');
            throw new TokenizerFileException(path, line, $"is not valid UTF-8 (an invalid byte sequence at byte {start + read}); the file must be UTF-8 text.");
        }
        return Encoding.UTF8.GetString(span);
    }

    private static string RequireFile(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"Tokenizer file '{fullPath}' does not exist.", fullPath);
        return fullPath;
    }
}

/// <summary>What a tokenizer folder's configuration files say (absent entries keep SD v1.5's values).</summary>
internal sealed record ClipTokenizerSettings
{
    /// <summary>The context length, or null for CLIP's 77.</summary>
    public int? ModelMaxLength { get; init; }

    /// <summary>The start token and the file that named it.</summary>
    public (string Token, string Source) BosToken { get; init; } = (ClipTokenizerFiles.StartOfText, "default");

    /// <summary>The end token and the file that named it.</summary>
    public (string Token, string Source) EosToken { get; init; } = (ClipTokenizerFiles.EndOfText, "default");

    /// <summary>The padding token (SD v1.5: the end token; SD 2.x: "!", id 0) and the file that named it.</summary>
    public (string Token, string Source) PadToken { get; init; } = (ClipTokenizerFiles.EndOfText, "default");

    /// <summary>The token of unknown symbols and the file that named it.</summary>
    public (string Token, string Source) UnknownToken { get; init; } = (ClipTokenizerFiles.EndOfText, "default");
}
