using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace TailorPO.Core.Json;

/// <summary>
/// The one rule every JSON file of a model folder is read by (configs, <c>model_index.json</c>,
/// scheduler and tokenizer files, sharded-checkpoint indexes, LoRA metadata): the text is valid
/// UTF-8 (a leading byte-order mark is skipped), it is one JSON value, no object gives a key twice
/// (JSON leaves that undefined; Python keeps the last, .NET readers differ, so it is refused), and no
/// string holds an escaped lone UTF-16 surrogate (not Unicode text). Each reader turns the problem
/// into its own exception naming the file.
/// </summary>
public static class StrictJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads and parses a file by the rule.</summary>
    /// <param name="path">The file (must exist).</param>
    /// <param name="options">Reader options (comments, trailing commas, depth).</param>
    /// <param name="document">The document on success (dispose it).</param>
    /// <param name="problem">What is wrong, on failure: invalid UTF-8 (with the byte offset), invalid JSON, or the duplicated key's path.</param>
    /// <returns>True on success.</returns>
    public static bool TryParseFile(string path, JsonDocumentOptions options,
        [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out string? problem) =>
        TryParse(File.ReadAllBytes(path), options, out document, out problem, out _);

    /// <summary>Reads and parses a file by the rule, also giving the 1-based line of a JSON syntax error.</summary>
    /// <inheritdoc cref="TryParseFile(string, JsonDocumentOptions, out JsonDocument?, out string?)"/>
    /// <param name="path">The file (must exist).</param>
    /// <param name="options">Reader options (comments, trailing commas, depth).</param>
    /// <param name="document">The document on success (dispose it).</param>
    /// <param name="problem">What is wrong, on failure.</param>
    /// <param name="lineNumber">The 1-based line of a JSON syntax error; null otherwise.</param>
    public static bool TryParseFile(string path, JsonDocumentOptions options,
        [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out string? problem, out int? lineNumber) =>
        TryParse(File.ReadAllBytes(path), options, out document, out problem, out lineNumber);

    /// <summary>Parses JSON text given as a string by the rule (a lone surrogate in the string itself is refused too).</summary>
    /// <inheritdoc cref="TryParseFile(string, JsonDocumentOptions, out JsonDocument?, out string?)"/>
    public static bool TryParse(string text, JsonDocumentOptions options,
        [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException ex)
        {
            document = null;
            problem = $"the text holds a lone UTF-16 surrogate at index {ex.Index}, which is not Unicode text.";
            return false;
        }
        return TryParse(bytes, options, out document, out problem, out _);
    }

    /// <summary>Parses UTF-8 JSON bytes by the rule.</summary>
    /// <inheritdoc cref="TryParseFile(string, JsonDocumentOptions, out JsonDocument?, out string?)"/>
    public static bool TryParse(ReadOnlyMemory<byte> utf8, JsonDocumentOptions options,
        [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out string? problem) =>
        TryParse(utf8, options, out document, out problem, out _);

    private static bool TryParse(ReadOnlyMemory<byte> utf8, JsonDocumentOptions options,
        [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out string? problem, out int? lineNumber)
    {
        document = null;
        lineNumber = null;
        var span = utf8.Span;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8 = utf8[3..];
        if (!Utf8.IsValid(utf8.Span))
        {
            problem = $"not valid UTF-8 (an invalid byte sequence at byte {FirstInvalidUtf8(utf8.Span)}).";
            return false;
        }
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(utf8, options);
        }
        catch (JsonException ex)
        {
            problem = $"not valid JSON ({ex.Message}).";
            lineNumber = ex.LineNumber is { } line ? (int)line + 1 : null;
            return false;
        }
        problem = FindProblem(parsed.RootElement);
        if (problem is not null)
        {
            parsed.Dispose();
            return false;
        }
        document = parsed;
        return true;
    }

    /// <summary>
    /// The first duplicated key (by its path, e.g. <c>text_config.hidden_size</c>) or escaped lone
    /// surrogate in a parsed document, described; null when there is none.
    /// </summary>
    public static string? FindProblem(JsonElement root) => Walk(root, "");

    private static string? Walk(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return $"a key inside '{(path.Length == 0 ? "(root)" : path)}' holds an escaped lone UTF-16 surrogate, which is not Unicode text.";
                    }
                    var child = path.Length == 0 ? name : $"{path}.{name}";
                    if (!seen.Add(name))
                        return $"the key '{child}' appears twice; give each key once.";
                    var inner = Walk(property.Value, child);
                    if (inner is not null) return inner;
                }
                return null;
            case JsonValueKind.Array:
                int index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    var inner = Walk(item, $"{path}[{index++}]");
                    if (inner is not null) return inner;
                }
                return null;
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return $"the value of '{(path.Length == 0 ? "(root)" : path)}' holds an escaped lone UTF-16 surrogate, which is not Unicode text.";
                }
            default:
                return null;
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var buffer = new char[4096];
        int offset = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(bytes[offset..], buffer, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            offset += read;
            if (status != System.Buffers.OperationStatus.DestinationTooSmall) return offset;
        }
    }
}
