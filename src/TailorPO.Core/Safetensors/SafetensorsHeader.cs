using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace TailorPO.Core.Safetensors;

/// <summary>
/// Parses and validates a safetensors header by the rules of the reference Rust crate
/// (huggingface/safetensors, <c>tensor.rs</c>), restated here:
/// <list type="bullet">
/// <item>the 8-byte little-endian length N is at most 100,000,000 and 8 + N fits in the file;</item>
/// <item>the N header bytes are valid UTF-8 holding one JSON object followed only by JSON white space
/// (strict JSON: no comments, no trailing commas, no byte-order mark, every string free of lone
/// surrogates, every number finite as a double, nesting below 128 levels);</item>
/// <item><c>__metadata__</c> appears at most once and is null or an object of strings;</item>
/// <item>every other key is a tensor: an object with exactly one <c>dtype</c> (a known name), one
/// <c>shape</c> (non-negative integers) and one <c>data_offsets</c> ([begin, end], non-negative
/// integers); other fields are ignored;</item>
/// <item>sorted by (begin, end), the tensors tile the data section from byte 0 to its last byte:
/// each begins where the previous one ended (no hole, gap or overlap), end &gt;= begin, and
/// end - begin = product(shape) x dtype size, computed without overflow; the last end is the data
/// section's length (no trailing byte).</item>
/// </list>
/// Deliberately stricter than the crate, because each case is ambiguous: a tensor name given twice
/// (the crate's map keeps the last one), a key given twice inside <c>__metadata__</c> (same) and an
/// ignored field given twice inside one entry are refused; an entry written as a JSON array
/// instead of an object, and a dtype written as <c>{"F32": null}</c> (forms serde happens to accept)
/// are refused. Beyond the format, a tensor torch cannot represent (a dimension above 2^63 - 1, a
/// shape whose strides overflow 64 bits, a dtype torch has no type for) is refused as well.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The crate's header size limit.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>serde_json's recursion limit: 128 levels fail, 127 are fine.</summary>
    private const int MaxDepth = 127;

    /// <summary>dtype names the crate knows but this library cannot hold in a torch tensor.</summary>
    internal static readonly IReadOnlySet<string> KnownButUnsupportedDTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    };

    /// <summary>A parsed, validated header.</summary>
    public sealed record Parsed(Dictionary<string, SafetensorsEntry> Entries, IReadOnlyList<string> NamesInFileOrder,
        IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Validates <paramref name="header"/> (the N bytes after the length prefix) against a data section of <paramref name="dataLength"/> bytes.</summary>
    /// <exception cref="SafetensorsFormatException">Any rule is broken; the message names the file and the rule.</exception>
    public static Parsed Parse(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        if (!Utf8IsValid(header, out int invalidAt))
            throw new SafetensorsFormatException(path, $"the header is not valid UTF-8 (invalid byte sequence at header byte {invalidAt}).");

        var reader = new Utf8JsonReader(header, new JsonReaderOptions
        {
            AllowTrailingCommas = false,
            CommentHandling = JsonCommentHandling.Disallow,
            MaxDepth = MaxDepth,
        });
        try
        {
            return ParseRoot(path, ref reader, dataLength);
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException(path, $"the header is not valid JSON ({ex.Message}).");
        }
    }

    private static bool Utf8IsValid(ReadOnlySpan<byte> bytes, out int firstInvalid)
    {
        // Walk in chunks: the destination buffer is small, DestinationTooSmall just means "keep going".
        int offset = 0;
        var buffer = new char[4096];
        while (true)
        {
            var status = Utf8.ToUtf16(bytes[offset..], buffer, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            offset += read;
            if (status == OperationStatus.Done) { firstInvalid = -1; return true; }
            if (status != OperationStatus.DestinationTooSmall) { firstInvalid = offset; return false; }
        }
    }

    private static Parsed ParseRoot(string path, ref Utf8JsonReader reader, long dataLength)
    {
        if (!reader.Read())
            throw new SafetensorsFormatException(path, "the header is empty or only white space; expected a JSON object.");
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(path, $"the header is not a JSON object (it starts with a JSON {reader.TokenType}).");

        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        Dictionary<string, string>? metadata = null;
        bool metadataSeen = false;
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject) break;
            var name = ReadString(path, ref reader, "a tensor name");
            reader.Read();
            if (name == "__metadata__")
            {
                if (metadataSeen)
                    throw new SafetensorsFormatException(path, "__metadata__ appears twice in the header.");
                metadataSeen = true;
                metadata = ReadMetadata(path, ref reader);
                continue;
            }
            if (entries.ContainsKey(name))
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' appears twice in the header.");
            entries[name] = ReadEntry(path, name, ref reader, dataLength);
        }
        // Only JSON white space may follow the object (the reader throws on anything else).
        if (reader.Read())
            throw new SafetensorsFormatException(path, $"the header holds a JSON {reader.TokenType} after its object.");

        var ordered = CheckCoverage(path, entries, dataLength);
        return new Parsed(entries, ordered, metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private static Dictionary<string, string>? ReadMetadata(string path, ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(path, $"__metadata__ is a JSON {reader.TokenType}; expected an object of strings (or null).");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject) return metadata;
            var key = ReadString(path, ref reader, "a __metadata__ key");
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsFormatException(path, $"__metadata__ value '{Show(key)}' is a JSON {reader.TokenType}, not a string.");
            var value = ReadString(path, ref reader, $"the __metadata__ value '{Show(key)}'");
            if (!metadata.TryAdd(key, value))
                throw new SafetensorsFormatException(path, $"__metadata__ key '{Show(key)}' appears twice.");
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, ref Utf8JsonReader reader, long dataLength)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(path, $"the header entry of '{Show(name)}' is a JSON {reader.TokenType}, not an object.");
        string? dtype = null;
        ulong[]? shape = null;
        (ulong Begin, ulong End)? offsets = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject) break;
            var field = ReadString(path, ref reader, $"a field name of '{Show(name)}'");
            if (!seen.Add(field))
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' gives the field '{Show(field)}' twice.");
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (reader.TokenType != JsonTokenType.String)
                        throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has no dtype string (got a JSON {reader.TokenType}).");
                    dtype = ReadString(path, ref reader, $"the dtype of '{Show(name)}'");
                    break;
                case "shape":
                    shape = ReadIntegers(path, ref reader, name, "shape", "an invalid dimension");
                    break;
                case "data_offsets":
                    var pair = ReadIntegers(path, ref reader, name, "data_offsets", "an invalid data offset");
                    if (pair.Length != 2)
                        throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has {pair.Length} data_offsets; expected [begin, end].");
                    offsets = (pair[0], pair[1]);
                    break;
                default:
                    SkipValue(path, ref reader);
                    break;
            }
        }
        if (dtype is null) throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has no dtype string.");
        if (shape is null) throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has no shape array.");
        if (offsets is null) throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has no [begin, end] data_offsets.");

        var (begin, end) = offsets.Value;
        if (end < begin)
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has data_offsets [{begin}, {end}] with end before begin.");
        if (end > (ulong)dataLength)
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' ends at byte {end} of the data section, which has only {dataLength} bytes; the file may be truncated.");

        int elementSize;
        TorchSharp.torch.ScalarType scalarType;
        if (!SafetensorsDType.TryParse(dtype, out scalarType, out elementSize))
        {
            if (KnownButUnsupportedDTypes.Contains(dtype))
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has dtype '{dtype}', which is valid safetensors but not supported by this library (supported: {string.Join(", ", SafetensorsDType.Names)}).");
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has unknown dtype '{Show(dtype)}' (known: {string.Join(", ", SafetensorsDType.Names)}).");
        }

        // The crate's size rule, in unsigned 64-bit arithmetic with overflow checks.
        ulong count = 1, bytes;
        try
        {
            foreach (var dim in shape) count = checked(count * dim);
            bytes = checked(count * (ulong)elementSize);
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has a shape [{string.Join(", ", shape)}] whose size overflows 64 bits.");
        }
        if (bytes != end - begin)
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' of dtype {dtype} and shape [{string.Join(", ", shape)}] needs {bytes} bytes but its data_offsets span {end - begin}.");

        // Beyond the format: torch must be able to hold the shape (dimensions and contiguous strides in int64).
        long strideProduct = 1;
        var longShape = new long[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] > long.MaxValue)
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has dimension {shape[i]}, larger than torch's limit of 2^63 - 1.");
            longShape[i] = (long)shape[i];
            try
            {
                strideProduct = checked(strideProduct * Math.Max(1L, longShape[i]));
            }
            catch (OverflowException)
            {
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has a shape [{string.Join(", ", shape)}] whose strides overflow 64 bits (torch cannot hold it, although it has {count} elements).");
            }
        }
        return new SafetensorsEntry(name, dtype, scalarType, longShape, (long)begin, (long)end);
    }

    /// <summary>Sorted by (begin, end), the ranges must tile [0, dataLength) exactly. Returns the names in that order.</summary>
    private static List<string> CheckCoverage(string path, Dictionary<string, SafetensorsEntry> entries, long dataLength)
    {
        var sorted = entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        long start = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in sorted)
        {
            if (entry.Begin > start)
                throw new SafetensorsFormatException(path, previous is null
                    ? $"bytes [0, {entry.Begin}) of the data section belong to no tensor (a hole before '{Show(entry.Name)}'); tensors must start at byte 0 and follow each other without gaps."
                    : $"bytes [{start}, {entry.Begin}) of the data section belong to no tensor (a hole between '{Show(previous.Name)}' and '{Show(entry.Name)}'); tensors must follow each other without gaps.");
            if (entry.Begin < start)
                throw new SafetensorsFormatException(path,
                    $"tensors '{Show(previous!.Name)}' [{previous.Begin}, {previous.End}) and '{Show(entry.Name)}' [{entry.Begin}, {entry.End}) overlap.");
            start = entry.End;
            previous = entry;
        }
        if (start != dataLength)
            throw new SafetensorsFormatException(path, start < dataLength
                ? $"the tensors cover {start} bytes but the data section has {dataLength}: {dataLength - start} trailing bytes belong to no tensor (a wrong header length shows this too)."
                : $"the tensors need {start} bytes but the data section has {dataLength}; the file may be truncated.");
        return sorted.Select(e => e.Name).ToList();
    }

    private static ulong[] ReadIntegers(string path, ref Utf8JsonReader reader, string name, string field, string what)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has no {field} array (got a JSON {reader.TokenType}).");
        var values = new List<ulong>();
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray) return values.ToArray();
            if (reader.TokenType != JsonTokenType.Number || !TryUnsigned(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan, out var value))
            {
                var raw = reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject
                    ? reader.TokenType.ToString()
                    : Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
                if (raw.Length > 40) raw = raw[..40] + "...";
                throw new SafetensorsFormatException(path, $"tensor '{Show(name)}' has {what} {raw} in its {field}; expected a non-negative integer.");
            }
            values.Add(value);
        }
    }

    /// <summary>A JSON number that is a plain non-negative integer of at most 64 bits (serde's usize).</summary>
    private static bool TryUnsigned(ReadOnlySpan<byte> raw, out ulong value)
    {
        value = 0;
        if (raw.Length == 0) return false;
        foreach (var b in raw)
            if (b is < (byte)'0' or > (byte)'9') return false;
        return ulong.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Skips an ignored value, still checking its strings and numbers as serde_json would parse them.</summary>
    private static void SkipValue(string path, ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.StartObject))
        {
            CheckScalar(path, ref reader);
            return;
        }
        int depth = reader.CurrentDepth;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.EndArray or JsonTokenType.EndObject && reader.CurrentDepth == depth) return;
            CheckScalar(path, ref reader);
        }
    }

    private static void CheckScalar(string path, ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
            case JsonTokenType.PropertyName:
                ReadString(path, ref reader, "a string in an ignored field");
                break;
            case JsonTokenType.Number:
                var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
                if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                    throw new SafetensorsFormatException(path, $"the header holds the number {Encoding.UTF8.GetString(raw)}, which is out of range for a 64-bit float.");
                break;
        }
    }

    private static string ReadString(string path, ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new SafetensorsFormatException(path, $"{what} holds an escaped lone UTF-16 surrogate, which is not valid Unicode text.");
        }
    }

    /// <summary>A name for messages: control characters escaped, long names cut.</summary>
    internal static string Show(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text.Length > 200 ? text[..200] : text)
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        if (text.Length > 200) builder.Append("...");
        return builder.ToString();
    }
}
