using System.Text.Json;
using TailorPO.Core.Json;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Typed, defaulting reads from one JSON object of a transformers/diffusers <c>config.json</c>.
/// A key that is absent or JSON null takes the library default (as the reference libraries do);
/// a key of the wrong type fails with a message naming the file and the key. The text is read by
/// <see cref="StrictJson"/>'s rule (valid UTF-8, no key given twice); integers are read with a range
/// and one out of it fails with "out of range [min, max]".
/// </summary>
internal sealed class JsonConfigObject
{
    private readonly JsonElement _element;

    private JsonConfigObject(JsonElement element, string source, string path)
    {
        _element = element;
        Source = source;
        Path = path;
    }

    /// <summary>The file the object came from (for messages).</summary>
    public string Source { get; }

    /// <summary>Where in the file the object sits, e.g. "text_config" (empty for the root).</summary>
    public string Path { get; }

    /// <summary>Parses a whole config text; the root must be an object.</summary>
    public static JsonConfigObject Parse(string json, string source)
    {
        if (!StrictJson.TryParse(json, Options, out var document, out var problem))
            throw new ModelConfigException(source, problem);
        return FromDocument(document, source);
    }

    /// <summary>Reads and parses a config file.</summary>
    public static JsonConfigObject Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"Config file '{full}' does not exist.", full);
        if (!StrictJson.TryParseFile(full, Options, out var document, out var problem))
            throw new ModelConfigException(full, problem);
        return FromDocument(document, full);
    }

    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    private static JsonConfigObject FromDocument(JsonDocument document, string source)
    {
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelConfigException(source, $"the root is a JSON {document.RootElement.ValueKind}, expected an object.");
            return new JsonConfigObject(document.RootElement.Clone(), source, "");
        }
    }

    /// <summary>The keys present with a value other than JSON null.</summary>
    public IEnumerable<string> Keys =>
        _element.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null).Select(p => p.Name).ToList();

    /// <summary>True when the key is present and not JSON null.</summary>
    public bool Has(string key) => TryGet(key, out _);

    /// <summary>True when the key holds a JSON array.</summary>
    public bool IsArray(string key) => TryGet(key, out var value) && value.ValueKind == JsonValueKind.Array;

    /// <summary>A nested object, or null when absent.</summary>
    public JsonConfigObject? Object(string key)
    {
        if (!TryGet(key, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Object) throw WrongType(key, value, "an object");
        return new JsonConfigObject(value, Source, Qualified(key));
    }

    /// <summary>A string value, or the default.</summary>
    public string String(string key, string defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.String) throw WrongType(key, value, "a string");
        return value.GetString()!;
    }

    /// <summary>An integer value in [<paramref name="min"/>, <paramref name="max"/>], or the default.</summary>
    public long Int(string key, long defaultValue, long min = long.MinValue, long max = long.MaxValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        return IntValue(key, value, min, max, "an integer");
    }

    /// <summary>An integer value that must be present.</summary>
    public long RequiredInt(string key, long min = long.MinValue, long max = long.MaxValue)
    {
        if (!Has(key)) throw new ModelConfigException(Source, $"the required key '{Qualified(key)}' is missing.");
        return Int(key, 0, min, max);
    }

    /// <summary>An optional integer value.</summary>
    public long? OptionalInt(string key, long min = long.MinValue, long max = long.MaxValue) => Has(key) ? Int(key, 0, min, max) : null;

    // An integral JSON number (written as 12, 1.2e1 or 12.0) in range; a fraction is a type error, an integer out of range says so.
    private long IntValue(string key, JsonElement value, long min, long max, string expected)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var exact))
            {
                if (exact >= min && exact <= max) return exact;
                throw Invalid(key, $"is {exact}, out of range [{min}, {max}].");
            }
            if (value.TryGetDouble(out var number) && double.IsFinite(number) && number == Math.Floor(number))
            {
                if (number >= min && number <= max) return (long)number;
                throw Invalid(key, $"is {value.GetRawText()}, out of range [{min}, {max}].");
            }
        }
        throw WrongType(key, value, expected);
    }

    /// <summary>A number, or the default.</summary>
    public double Double(string key, double defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.Number) throw WrongType(key, value, "a number");
        return value.GetDouble();
    }

    /// <summary>A boolean, or the default.</summary>
    public bool Bool(string key, bool defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(key, value, "true or false"),
        };
    }

    /// <summary>A list of at most <paramref name="maxCount"/> integers, each in [<paramref name="min"/>, <paramref name="max"/>], or the default.</summary>
    public IReadOnlyList<long> IntList(string key, IReadOnlyList<long> defaultValue, long min = long.MinValue, long max = long.MaxValue,
        int maxCount = int.MaxValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.Array) throw WrongType(key, value, "a list of integers");
        if (value.GetArrayLength() > maxCount)
            throw Invalid(key, $"has {value.GetArrayLength()} entries, out of range [0, {maxCount}].");
        var result = new List<long>();
        foreach (var item in value.EnumerateArray())
            result.Add(IntValue(key, item, min, max, "a list of integers"));
        return result;
    }

    /// <summary>A list of strings, or the default.</summary>
    public IReadOnlyList<string> StringList(string key, IReadOnlyList<string> defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.Array) throw WrongType(key, value, "a list of strings");
        var result = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw WrongType(key, value, "a list of strings");
            result.Add(item.GetString()!);
        }
        return result;
    }

    /// <summary>
    /// This object with the keys of <paramref name="overrides"/> replacing its own (transformers'
    /// CLIPConfig lets a legacy <c>text_config_dict</c> override <c>text_config</c> that way).
    /// </summary>
    public JsonConfigObject OverlaidWith(JsonConfigObject? overrides)
    {
        if (overrides is null) return this;
        var merged = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in _element.EnumerateObject()) merged[property.Name] = property.Value;
        foreach (var property in overrides._element.EnumerateObject()) merged[property.Name] = property.Value;
        var json = JsonSerializer.Serialize(merged);
        using var document = JsonDocument.Parse(json);
        return new JsonConfigObject(document.RootElement.Clone(), Source, Path);
    }

    /// <summary>A failure about a value that parsed but cannot be used.</summary>
    public ModelConfigException Invalid(string key, string problem) =>
        new(Source, $"'{Qualified(key)}' {problem}");

    private bool TryGet(string key, out JsonElement value) =>
        _element.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    private string Qualified(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private ModelConfigException WrongType(string key, JsonElement value, string expected)
    {
        var text = value.GetRawText();
        if (text.Length > 80) text = text[..80] + "...";
        return new ModelConfigException(Source, $"'{Qualified(key)}' is {text}, expected {expected}.");
    }
}
