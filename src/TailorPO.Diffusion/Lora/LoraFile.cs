using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TailorPO.Core.Json;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// Reads and writes LoRA weight files. Writing uses the PEFT / diffusers layout
/// (<c>&lt;prefix&gt;&lt;module path&gt;.lora_A.weight</c> / <c>.lora_B.weight</c>, rank and alpha in
/// <c>__metadata__</c>); reading also accepts kohya-ss files (<c>lora_unet_*</c> keys with
/// <c>lora_down</c>/<c>lora_up</c>/<c>alpha</c>). Keys are mapped onto the model's own layer paths, and
/// every key that fits no layer is reported at once.
/// </summary>
public static class LoraFile
{
    /// <summary>The scaling rule written into the metadata.</summary>
    public const string ScaleFormula = "W + scale * (lora_alpha / rank) * B @ A";

    private const string KohyaUNetPrefix = "lora_unet_";

    /// <summary>Reads a LoRA file and maps it onto <paramref name="layers"/>.</summary>
    /// <param name="path">A .safetensors file.</param>
    /// <param name="layers">The model's adaptable layers by module path (their shapes are checked).</param>
    /// <param name="keyPrefix">The PEFT key prefix of this model, e.g. "unet." (also accepted without it).</param>
    /// <exception cref="StateDictMismatchException">
    /// Keys that fit no layer, incomplete pairs, wrong shapes, NaN or infinite weights, or an alpha that is
    /// not a positive finite number - all listed in one exception.
    /// </exception>
    /// <exception cref="SafetensorsFormatException">The file, or the LoRA config in its metadata, is malformed (named).</exception>
    public static LoraFileContents Read(string path, IReadOnlyDictionary<string, LoraLinear> layers, string keyPrefix = "unet.")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(layers);
        var full = Path.GetFullPath(path);
        using var file = SafetensorsFile.Open(full);
        var tensors = file.ReadAll();
        try
        {
            bool kohya = tensors.Keys.Any(k => k.StartsWith("lora_unet_", StringComparison.Ordinal) || k.StartsWith("lora_te", StringComparison.Ordinal)
                || k.EndsWith(".lora_down.weight", StringComparison.Ordinal));
            var contents = kohya
                ? ReadKohya(full, tensors, layers, file.Metadata)
                : ReadPeft(full, tensors, layers, keyPrefix, file.Metadata);
            // The contents own the tensors they hold; everything else read from the file is released.
            var owned = new HashSet<Tensor>(contents.Layers.Values.SelectMany(l => new[] { l.A, l.B }), ReferenceEqualityComparer.Instance);
            foreach (var t in tensors.Values.Where(t => !owned.Contains(t))) t.Dispose();
            return contents;
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    private static LoraFileContents ReadPeft(string path, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, LoraLinear> layers,
        string keyPrefix, IReadOnlyDictionary<string, string> metadata)
    {
        var alpha = AlphaFromMetadata(path, metadata);
        var a = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var b = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var layerAlphas = new Dictionary<string, double>(StringComparer.Ordinal);
        var ignored = new List<string>();
        var unexpected = new List<string>();
        foreach (var (key, tensor) in tensors)
        {
            var name = key;
            if (!string.IsNullOrEmpty(keyPrefix) && name.StartsWith(keyPrefix, StringComparison.Ordinal)) name = name[keyPrefix.Length..];
            else if (name.StartsWith("base_model.model.", StringComparison.Ordinal)) name = name["base_model.model.".Length..];
            else if (name.StartsWith("text_encoder", StringComparison.Ordinal)) { ignored.Add(key); continue; }

            if (name.EndsWith(".lora_A.weight", StringComparison.Ordinal)) a[name[..^".lora_A.weight".Length]] = tensor;
            else if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal)) b[name[..^".lora_B.weight".Length]] = tensor;
            else if (name.EndsWith(".alpha", StringComparison.Ordinal) && tensor.numel() == 1)
                layerAlphas[name[..^".alpha".Length]] = AlphaOf(tensor);
            else unexpected.Add(key);
        }
        return Assemble(path, LoraFileFormat.Peft, a, b,
            l => layerAlphas.TryGetValue(l, out var own) ? own : alpha ?? a[l].shape[0], layers, unexpected, ignored, metadata,
            l => $"{keyPrefix}{l}.lora_A.weight", l => $"{keyPrefix}{l}.lora_B.weight");
    }

    private static LoraFileContents ReadKohya(string path, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, LoraLinear> layers,
        IReadOnlyDictionary<string, string> metadata)
    {
        var byKohyaName = layers.Keys.ToDictionary(p => KohyaUNetPrefix + p.Replace('.', '_'), p => p, StringComparer.Ordinal);
        var a = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var b = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var alphas = new Dictionary<string, double>(StringComparer.Ordinal);
        var ignored = new List<string>();
        var unexpected = new List<string>();
        foreach (var (key, tensor) in tensors)
        {
            if (key.StartsWith("lora_te", StringComparison.Ordinal)) { ignored.Add(key); continue; }
            var dot = key.IndexOf('.');
            if (dot < 0 || !byKohyaName.TryGetValue(key[..dot], out var layer)) { unexpected.Add(key); continue; }
            switch (key[(dot + 1)..])
            {
                case "lora_down.weight": a[layer] = tensor; break;
                case "lora_up.weight": b[layer] = tensor; break;
                case "alpha":
                    if (tensor.numel() != 1) { unexpected.Add($"{key} (alpha must hold one value)"); break; }
                    alphas[layer] = AlphaOf(tensor);
                    break;
                default: unexpected.Add(key); break;
            }
        }
        string KohyaName(string l) => KohyaUNetPrefix + l.Replace('.', '_');
        return Assemble(path, LoraFileFormat.Kohya, a, b, l => alphas.TryGetValue(l, out var v) ? v : a[l].shape[0], layers,
            unexpected, ignored, metadata, l => KohyaName(l) + ".lora_down.weight", l => KohyaName(l) + ".lora_up.weight");
    }

    // A per-layer alpha tensor's value (a non-float dtype such as bool reads as its number).
    private static double AlphaOf(Tensor tensor) => tensor.to(ScalarType.Float64).item<double>();

    private static LoraFileContents Assemble(string path, LoraFileFormat format, Dictionary<string, Tensor> a, Dictionary<string, Tensor> b,
        Func<string, double> alphaOf, IReadOnlyDictionary<string, LoraLinear> layers, List<string> unexpected, List<string> ignored,
        IReadOnlyDictionary<string, string> metadata, Func<string, string> aKey, Func<string, string> bKey)
    {
        var missing = new List<string>();
        var misShaped = new List<string>();
        var invalid = new List<string>();
        var result = new Dictionary<string, LoraLayerWeights>(StringComparer.Ordinal);
        foreach (var layerPath in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            if (!layers.TryGetValue(layerPath, out var layer))
            {
                if (a.ContainsKey(layerPath)) unexpected.Add(aKey(layerPath));
                if (b.ContainsKey(layerPath)) unexpected.Add(bKey(layerPath));
                continue;
            }
            if (!a.TryGetValue(layerPath, out var down)) { missing.Add(aKey(layerPath)); continue; }
            if (!b.TryGetValue(layerPath, out var up)) { missing.Add(bKey(layerPath)); continue; }
            long rank = down.dim() == 2 ? down.shape[0] : -1;
            if (down.dim() != 2 || down.shape[1] != layer.InFeatures || rank < 1)
            {
                misShaped.Add($"{aKey(layerPath)}: file [{string.Join(", ", down.shape)}] vs layer [rank, {layer.InFeatures}]");
                continue;
            }
            if (up.dim() != 2 || up.shape[0] != layer.OutFeatures || up.shape[1] != rank)
            {
                misShaped.Add($"{bKey(layerPath)}: file [{string.Join(", ", up.shape)}] vs layer [{layer.OutFeatures}, {rank}]");
                continue;
            }
            // NaN or infinite weights would poison every output of the layer once merged or applied.
            bool finite = true;
            foreach (var (key, weights) in new[] { (aKey(layerPath), down), (bKey(layerPath), up) })
            {
                var problem = NonFiniteProblem(weights);
                if (problem is null) continue;
                invalid.Add($"{key}: {problem}");
                finite = false;
            }
            var alpha = alphaOf(layerPath);
            if (!double.IsFinite(alpha) || alpha <= 0)
            {
                invalid.Add($"{layerPath}: alpha {alpha.ToString("R", CultureInfo.InvariantCulture)} must be a positive finite number");
                continue;
            }
            if (finite) result[layerPath] = new LoraLayerWeights(down, up, alpha);
        }
        if (result.Count == 0 && missing.Count + unexpected.Count + misShaped.Count + invalid.Count == 0)
            unexpected.Add("(the file holds no LoRA pairs for this model)");
        if (missing.Count + unexpected.Count + misShaped.Count + invalid.Count > 0)
        {
            missing.Sort(StringComparer.Ordinal);
            unexpected.Sort(StringComparer.Ordinal);
            misShaped.Sort(StringComparer.Ordinal);
            invalid.Sort(StringComparer.Ordinal);
            throw new StateDictMismatchException(path, "the model's LoRA layers", missing, unexpected, misShaped, invalid);
        }
        return new LoraFileContents(path, format, result, ignored, metadata);
    }

    // "3 of 16 values are NaN or infinite (first at flat index 5)", or null when every value is finite.
    private static string? NonFiniteProblem(Tensor weights)
    {
        if (!weights.is_floating_point()) return $"dtype {weights.dtype} is not a floating-point type";
        using var scope = NewDisposeScope();
        var bad = weights.isfinite().logical_not().flatten();
        long count = bad.sum().item<long>();
        if (count == 0) return null;
        long first = bad.nonzero()[0, 0].item<long>();
        return $"{count} of {weights.numel()} values are NaN or infinite (first at flat index {first})";
    }

    /// <summary>
    /// The alpha recorded in the metadata, or null when the file records none (then alpha = rank). The
    /// top-level <c>lora_alpha</c> entry (a string, as safetensors metadata always is) and the PEFT config in
    /// <c>lora_adapter_metadata</c> (where <c>lora_alpha</c> must be a JSON number, as PEFT's LoraConfig
    /// needs) are both read; when both are present they must agree.
    /// </summary>
    private static double? AlphaFromMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        double? topLevel = null;
        if (metadata.TryGetValue("lora_alpha", out var text))
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new SafetensorsFormatException(path, $"__metadata__ lora_alpha '{text}' is not a number.");
            topLevel = value;
        }
        double? peft = null;
        if (metadata.TryGetValue("lora_adapter_metadata", out var json))
        {
            if (!StrictJson.TryParse(json, default, out var document, out var problem))
                throw new SafetensorsFormatException(path, $"__metadata__ lora_adapter_metadata (the PEFT LoraConfig) is unusable: {problem}");
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new SafetensorsFormatException(path, $"__metadata__ lora_adapter_metadata is a JSON {document.RootElement.ValueKind}, expected an object (a PEFT LoraConfig).");
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    var key = property.Name;
                    var node = property.Value;
                    var bare = key.Contains('.') ? key[(key.LastIndexOf('.') + 1)..] : key;
                    if (bare is "alpha_pattern" or "rank_pattern" && node.ValueKind == JsonValueKind.Object && node.EnumerateObject().Any())
                        throw new SafetensorsFormatException(path, $"lora_adapter_metadata sets a non-empty {key}, which this reader does not support.");
                    if (bare != "lora_alpha" || node.ValueKind == JsonValueKind.Null) continue;
                    if (node.ValueKind != JsonValueKind.Number || !node.TryGetDouble(out var alpha))
                        throw new SafetensorsFormatException(path,
                            $"lora_adapter_metadata '{key}' is {node.GetRawText()}, a JSON {node.ValueKind}; PEFT's lora_alpha must be a number (write {(node.ValueKind == JsonValueKind.String ? node.GetString() : "it")} without quotes).");
                    if (peft is { } other && other != alpha)
                        throw new SafetensorsFormatException(path, $"lora_adapter_metadata gives lora_alpha twice with different values ({other} and {alpha}).");
                    peft = alpha;
                }
            }
        }
        if (topLevel is { } t && peft is { } p && t != p)
            throw new SafetensorsFormatException(path,
                $"__metadata__ lora_alpha '{text}' disagrees with lora_adapter_metadata's lora_alpha {p.ToString("R", CultureInfo.InvariantCulture)}; which one holds is ambiguous.");
        return topLevel ?? peft;
    }

    /// <summary>Writes adapter weights in the PEFT / diffusers layout, atomically.</summary>
    /// <param name="path">Target .safetensors file.</param>
    /// <param name="layers">Adapted layers by module path.</param>
    /// <param name="keyPrefix">Prefix of every key, e.g. "unet.".</param>
    /// <param name="targetModules">The target names, recorded in the metadata.</param>
    public static void Write(string path, IReadOnlyDictionary<string, LoraLinear> layers, string keyPrefix, IReadOnlyList<string> targetModules)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(layers);
        var adapted = layers.Where(l => l.Value.HasAdapter).ToList();
        if (adapted.Count == 0) throw new InvalidOperationException("No layer carries a LoRA adapter; nothing to save.");
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (layerPath, layer) in adapted)
        {
            tensors[$"{keyPrefix}{layerPath}.lora_A.weight"] = layer.LoraA!;
            tensors[$"{keyPrefix}{layerPath}.lora_B.weight"] = layer.LoraB!;
        }
        var ranks = adapted.Select(l => l.Value.Rank).Distinct().ToList();
        var alphas = adapted.Select(l => l.Value.Alpha).Distinct().ToList();
        var dropouts = adapted.Select(l => l.Value.Dropout).Distinct().ToList();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["target_modules"] = string.Join(",", targetModules),
            ["lora_scale_formula"] = ScaleFormula,
        };
        if (ranks.Count == 1) metadata["rank"] = ranks[0].ToString(CultureInfo.InvariantCulture);
        if (alphas.Count == 1) metadata["lora_alpha"] = alphas[0].ToString("R", CultureInfo.InvariantCulture);
        if (ranks.Count == 1 && alphas.Count == 1)
        {
            var p = keyPrefix.TrimEnd('.');
            string K(string name) => p.Length == 0 ? name : $"{p}.{name}";
            var peft = new JsonObject
            {
                [K("alpha_pattern")] = new JsonObject(),
                [K("bias")] = "none",
                [K("init_lora_weights")] = true,
                [K("lora_alpha")] = alphas[0],
                [K("lora_dropout")] = dropouts.Count == 1 ? dropouts[0] : 0.0,
                [K("peft_type")] = "LORA",
                [K("r")] = ranks[0],
                [K("rank_pattern")] = new JsonObject(),
                [K("target_modules")] = new JsonArray(targetModules.Order(StringComparer.Ordinal).Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
                [K("use_dora")] = false,
                [K("use_rslora")] = false,
            };
            metadata["lora_adapter_metadata"] = peft.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        }
        else
        {
            // Per-layer alphas cannot be expressed in one PEFT config; kohya-style per-layer alpha tensors carry them.
            foreach (var (layerPath, layer) in adapted)
                tensors[$"{keyPrefix}{layerPath}.alpha"] = tensor(layer.Alpha, ScalarType.Float32);
        }
        try
        {
            SafetensorsWriter.Save(path, tensors, metadata);
        }
        finally
        {
            foreach (var (key, t) in tensors)
                if (key.EndsWith(".alpha", StringComparison.Ordinal)) t.Dispose();
        }
    }
}
