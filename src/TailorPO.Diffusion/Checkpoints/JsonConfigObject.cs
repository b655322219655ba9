using System.Text.Json;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Typed, defaulting reads from one JSON object of a transformers/diffusers <c>config.json</c>.
/// A key that is absent or JSON null takes the library default (as the reference libraries do);
/// a key of the wrong type fails with a message naming the file and the key.
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
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException(source, $"not valid JSON ({ex.Message}).");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new ModelConfigException(source, $"the root is a JSON {document.RootElement.ValueKind}, expected an object.");
        return new JsonConfigObject(document.RootElement.Clone(), source, "");
    }

    /// <summary>Reads and parses a config file.</summary>
    public static JsonConfigObject Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"Config file '{full}' does not exist.", full);
        return Parse(File.ReadAllText(full), full);
    }

    /// <summary>True when the key is present and not JSON null.</summary>
    public bool Has(string key) => TryGet(key, out _);

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

    /// <summary>An integer value, or the default.</summary>
    public long Int(string key, long defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var result)) throw WrongType(key, value, "an integer");
        return result;
    }

    /// <summary>An integer value that must be present.</summary>
    public long RequiredInt(string key)
    {
        if (!Has(key)) throw new ModelConfigException(Source, $"the required key '{Qualified(key)}' is missing.");
        return Int(key, 0);
    }

    /// <summary>An optional integer value.</summary>
    public long? OptionalInt(string key) => Has(key) ? Int(key, 0) : null;

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

    /// <summary>A list of integers, or the default.</summary>
    public IReadOnlyList<long> IntList(string key, IReadOnlyList<long> defaultValue)
    {
        if (!TryGet(key, out var value)) return defaultValue;
        if (value.ValueKind != JsonValueKind.Array) throw WrongType(key, value, "a list of integers");
        var result = new List<long>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number)) throw WrongType(key, value, "a list of integers");
            result.Add(number);
        }
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
