using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// The part of a PEFT <c>LoraConfig</c> that decides each layer's rank and alpha: <c>r</c>, <c>lora_alpha</c>,
/// <c>rank_pattern</c> and <c>alpha_pattern</c>. It comes from an
/// <c>adapter_config.json</c> next to the weights or from the <c>lora_adapter_metadata</c> entry of a
/// safetensors header (keys there may carry the model prefix, e.g. <c>unet.lora_alpha</c>).
/// </summary>
internal sealed record PeftLoraSettings(
    int? Rank,
    double? Alpha,
    IReadOnlyList<KeyValuePair<string, int>> RankPattern,
    IReadOnlyList<KeyValuePair<string, double>> AlphaPattern)
{
    /// <summary>
    /// The rank PEFT builds for <paramref name="layerPath"/>: the first <c>rank_pattern</c> key that matches it
    /// (PEFT's rule: the key, as a regular expression, matches the whole path or a '.'-separated suffix of it),
    /// else <c>r</c>; null when the config gives no rank.
    /// </summary>
    public int? RankFor(string layerPath) => Match(RankPattern, layerPath) ?? Rank;

    /// <summary>The alpha PEFT uses for <paramref name="layerPath"/>: the matching <c>alpha_pattern</c> entry, else <c>lora_alpha</c>.</summary>
    public double? AlphaFor(string layerPath) => Match(AlphaPattern, layerPath) ?? Alpha;

    private static T? Match<T>(IReadOnlyList<KeyValuePair<string, T>> pattern, string layerPath) where T : struct
    {
        foreach (var (key, value) in pattern)
            if (Regex.IsMatch(layerPath, $"^(.*\\.)?({key})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))) return value;
        return null;
    }

    /// <summary>True when both give every layer the same rank and alpha and name the same patterns.</summary>
    public bool SameAs(PeftLoraSettings other) =>
        Rank == other.Rank && Alpha == other.Alpha && RankPattern.SequenceEqual(other.RankPattern) && AlphaPattern.SequenceEqual(other.AlphaPattern);

    /// <summary>
    /// Reads the settings from a PEFT config object. Only keys named exactly, or with <paramref name="keyPrefix"/>
    /// in front (diffusers writes <c>unet.r</c>), are read; other models' keys are left alone.
    /// </summary>
    /// <param name="root">The JSON object.</param>
    /// <param name="source">What to name in errors: the config file, or the weights file and its metadata entry.</param>
    /// <param name="keyPrefix">The model's key prefix, e.g. "unet.".</param>
    /// <param name="formatError">Builds the exception for a malformed value.</param>
    /// <param name="configName">The config as a <see cref="ModelConfigException"/> names it: the file, or the weights file and its metadata entry.</param>
    /// <exception cref="ModelConfigException">The config asks for DoRA, rsLoRA or a lora_B bias, which change the layer's formula.</exception>
    public static PeftLoraSettings Parse(JsonElement root, string source, string keyPrefix, Func<string, Exception> formatError, string configName)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw formatError($"{source} is a JSON {root.ValueKind}, expected an object (a PEFT LoraConfig).");
        var values = new Dictionary<string, (string Key, JsonElement Value)>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            if (!string.IsNullOrEmpty(keyPrefix) && name.StartsWith(keyPrefix, StringComparison.Ordinal)) name = name[keyPrefix.Length..];
            if (name.Contains('.')) continue;
            if (values.TryGetValue(name, out var earlier) && earlier.Value.GetRawText() != property.Value.GetRawText())
                throw formatError($"{source} gives {name} twice with different values ('{earlier.Key}' and '{property.Name}').");
            values[name] = (property.Name, property.Value);
        }

        var refused = new List<string>();
        foreach (var (flag, what) in new[] { ("use_dora", "DoRA (weight-decomposed LoRA) rescales each output column by a learned magnitude"),
                     ("use_rslora", "rsLoRA scales by lora_alpha / sqrt(r) instead of lora_alpha / r") })
            if (values.TryGetValue(flag, out var v) && v.Value.ValueKind == JsonValueKind.True)
                refused.Add($"'{v.Key}' is true: {what}, which this library does not implement; merge the adapter into the base weights with PEFT (merge_and_unload) or retrain without {flag}");
        if (values.TryGetValue("lora_bias", out var bias) && bias.Value.ValueKind == JsonValueKind.True)
            refused.Add($"'{bias.Key}' is true: LoRA layers with a bias on lora_B are not implemented; retrain without lora_bias");
        if (refused.Count > 0) throw new ModelConfigException(configName, refused);

        double? alpha = null;
        if (values.TryGetValue("lora_alpha", out var alphaNode) && alphaNode.Value.ValueKind != JsonValueKind.Null)
            alpha = Number(alphaNode.Key, alphaNode.Value, source, formatError);
        int? rank = null;
        if (values.TryGetValue("r", out var rankNode) && rankNode.Value.ValueKind != JsonValueKind.Null)
            rank = WholeNumber(rankNode.Key, rankNode.Value, source, formatError);
        var rankPattern = Pattern(values, "rank_pattern", source, formatError, (k, n) => WholeNumber(k, n, source, formatError));
        var alphaPattern = Pattern(values, "alpha_pattern", source, formatError, (k, n) => Number(k, n, source, formatError));
        return new PeftLoraSettings(rank, alpha, rankPattern, alphaPattern);
    }

    private static List<KeyValuePair<string, T>> Pattern<T>(Dictionary<string, (string Key, JsonElement Value)> values, string name, string source,
        Func<string, Exception> formatError, Func<string, JsonElement, T> read)
    {
        var result = new List<KeyValuePair<string, T>>();
        if (!values.TryGetValue(name, out var node) || node.Value.ValueKind == JsonValueKind.Null) return result;
        if (node.Value.ValueKind != JsonValueKind.Object)
            throw formatError($"{source} '{node.Key}' is a JSON {node.Value.ValueKind}, expected an object of module name -> value.");
        foreach (var entry in node.Value.EnumerateObject())
        {
            // PEFT reads each key as a regular expression; one that does not parse could match nothing it meant to.
            try
            {
                _ = new Regex(entry.Name, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw formatError($"{source} '{node.Key}' has the key '{entry.Name}', which is not a regular expression ({e.Message}); PEFT matches these keys as regular expressions against module paths.");
            }
            result.Add(new(entry.Name, read($"{node.Key}[{entry.Name}]", entry.Value)));
        }
        return result;
    }

    private static double Number(string key, JsonElement node, string source, Func<string, Exception> formatError)
    {
        if (node.ValueKind != JsonValueKind.Number || !node.TryGetDouble(out var value))
            throw formatError(
                $"{source} '{key}' is {node.GetRawText()}, a JSON {node.ValueKind}; PEFT's lora_alpha must be a number (write {(node.ValueKind == JsonValueKind.String ? node.GetString() : "it")} without quotes).");
        if (!double.IsFinite(value) || value <= 0)
            throw formatError($"{source} '{key}' is {value.ToString("R", CultureInfo.InvariantCulture)}; it must be a positive finite number.");
        return value;
    }

    private static int WholeNumber(string key, JsonElement node, string source, Func<string, Exception> formatError)
    {
        if (node.ValueKind != JsonValueKind.Number || !node.TryGetInt32(out var value) || value < 1)
            throw formatError($"{source} '{key}' is {node.GetRawText()}; a LoRA rank must be a whole number of at least 1.");
        return value;
    }

    /// <summary>The exception factory for settings found in a safetensors header.</summary>
    public static Func<string, Exception> MetadataError(string path) => problem => new SafetensorsFormatException(path, problem);

    /// <summary>The exception factory for settings found in an <c>adapter_config.json</c>.</summary>
    public static Func<string, Exception> ConfigError(string configPath) => problem => new ModelConfigException(configPath, problem);
}
