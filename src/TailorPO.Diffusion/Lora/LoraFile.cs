using System.Globalization;
using System.Text.Json;
using TailorPO.Core.Json;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// Reads and writes LoRA weight files. Reading accepts PEFT / diffusers files
/// (<c>&lt;prefix&gt;&lt;module path&gt;.lora_A.weight</c> / <c>.lora_B.weight</c>, rank and alpha in
/// <c>__metadata__</c>), PEFT folders (<c>adapter_model.safetensors</c> with its <c>adapter_config.json</c>),
/// diffusers' older layouts (<c>.lora.down.weight</c> / <c>.lora.up.weight</c> and <c>save_attn_procs</c>'s
/// <c>.processor.to_q_lora.down.weight</c>, with network alphas where present) and kohya-ss files
/// (<c>lora_unet_*</c> keys with <c>lora_down</c>/<c>lora_up</c>/<c>alpha</c>). Writing produces the PEFT /
/// diffusers layout or the kohya-ss layout that A1111 and ComfyUI load. Keys are mapped onto the model's own
/// layer paths, and every key that fits no layer is reported at once.
/// </summary>
public static class LoraFile
{
    /// <summary>The scaling rule written into the metadata.</summary>
    public const string ScaleFormula = "W + scale * (lora_alpha / rank) * B @ A";

    /// <summary>The weights file of a PEFT adapter folder (<c>PeftModel.save_pretrained</c>).</summary>
    public const string PeftWeightsFileName = "adapter_model.safetensors";

    /// <summary>The config file of a PEFT adapter folder, read next to the weights.</summary>
    public const string PeftConfigFileName = "adapter_config.json";

    internal const string KohyaUNetPrefix = "lora_unet_";
    private const string PeftModelPrefix = "base_model.model.";

    /// <summary>Reads a LoRA file (or PEFT adapter folder) and maps it onto <paramref name="layers"/>.</summary>
    /// <param name="path">
    /// A .safetensors file, or a PEFT adapter folder holding <c>adapter_model.safetensors</c>. When an
    /// <c>adapter_config.json</c> sits next to PEFT-style weights, its <c>r</c>, <c>lora_alpha</c>,
    /// <c>rank_pattern</c> and <c>alpha_pattern</c> set each layer's rank and alpha.
    /// </param>
    /// <param name="layers">The model's adaptable layers by module path (their shapes are checked).</param>
    /// <param name="keyPrefix">The PEFT key prefix of this model, e.g. "unet." (also accepted without it).</param>
    /// <exception cref="StateDictMismatchException">
    /// Keys that fit no layer, incomplete pairs, wrong shapes (including a rank other than the config's), NaN or
    /// infinite weights, or an alpha that is not a positive finite number - all listed in one exception.
    /// </exception>
    /// <exception cref="SafetensorsFormatException">The file, or the LoRA config in its metadata, is malformed (named).</exception>
    /// <exception cref="ModelConfigException">
    /// The <c>adapter_config.json</c> is malformed, or the config asks for DoRA, rsLoRA or a lora_B bias, which this
    /// library does not implement (named).
    /// </exception>
    public static LoraFileContents Read(string path, IReadOnlyDictionary<string, LoraLinear> layers, string keyPrefix = "unet.")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(layers);
        var full = WeightsFile(Path.GetFullPath(path));
        using var file = SafetensorsFile.Open(full);
        var tensors = file.ReadAll();
        try
        {
            bool kohya = tensors.Keys.Any(k => k.StartsWith("lora_unet_", StringComparison.Ordinal) || k.StartsWith("lora_te", StringComparison.Ordinal)
                || k.EndsWith(".lora_down.weight", StringComparison.Ordinal));
            var contents = kohya
                ? ReadKohya(full, tensors, layers, file.Metadata)
                : ReadDiffusers(full, tensors, layers, keyPrefix, file.Metadata);
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

    // A folder stands for the PEFT weights file inside it.
    private static string WeightsFile(string path)
    {
        if (!Directory.Exists(path)) return path;
        var weights = Path.Combine(path, PeftWeightsFileName);
        if (File.Exists(weights)) return weights;
        var pickle = Path.Combine(path, "adapter_model.bin");
        throw new SafetensorsFormatException(weights, File.Exists(pickle)
            ? "the folder holds only adapter_model.bin, a pickle this library does not load (it can run code); save the adapter with safe_serialization=True or convert it to adapter_model.safetensors."
            : $"the folder has no {PeftWeightsFileName}; pass the .safetensors file itself or a PEFT adapter folder.");
    }

    /// <summary>
    /// PEFT and diffusers key styles, mapped to module paths: <c>.lora_A/.lora_B.weight</c> (PEFT, diffusers
    /// &gt;= 0.22), <c>.lora.down/.lora.up.weight</c> (diffusers 0.21's LoRALinearLayer) and
    /// <c>.processor.to_q_lora.down.weight</c> (save_attn_procs), each with an optional per-layer <c>.alpha</c>.
    /// </summary>
    private static LoraFileContents ReadDiffusers(string path, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, LoraLinear> layers,
        string keyPrefix, IReadOnlyDictionary<string, string> metadata)
    {
        var a = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var b = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var aKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        var bKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        var layerAlphas = new Dictionary<string, double>(StringComparer.Ordinal);
        var ignored = new List<string>();
        var unexpected = new List<string>();
        var styles = new HashSet<LoraFileFormat>();
        foreach (var (key, tensor) in tensors)
        {
            var name = key;
            if (!string.IsNullOrEmpty(keyPrefix) && name.StartsWith(keyPrefix, StringComparison.Ordinal)) name = name[keyPrefix.Length..];
            else if (name.StartsWith(PeftModelPrefix, StringComparison.Ordinal)) name = name[PeftModelPrefix.Length..];
            else if (name.StartsWith("text_encoder", StringComparison.Ordinal)) { ignored.Add(key); continue; }

            if (name.Contains(".processor.", StringComparison.Ordinal))
            {
                // save_attn_procs: "attn1.processor.to_q_lora.down.weight" is the LoRA of "attn1.to_q".
                styles.Add(LoraFileFormat.DiffusersAttentionProcessors);
                name = name.Replace(".processor.", ".", StringComparison.Ordinal)
                    .Replace("to_out_lora.", "to_out.0.lora.", StringComparison.Ordinal)
                    .Replace("_lora.", ".lora.", StringComparison.Ordinal);
            }
            if (name.EndsWith(".alpha", StringComparison.Ordinal) && tensor.numel() == 1)
            {
                // Network alphas are named after the module or after its down weight.
                var module = name[..^".alpha".Length];
                foreach (var down in new[] { ".lora.down.weight", ".lora_A.weight" })
                    if (module.EndsWith(down, StringComparison.Ordinal)) module = module[..^down.Length];
                layerAlphas[module] = AlphaOf(tensor);
                continue;
            }
            if (TrySplit(name, ".lora_A.weight", out var layer)) { a[layer] = tensor; aKeys[layer] = key; styles.Add(LoraFileFormat.Peft); }
            else if (TrySplit(name, ".lora_B.weight", out layer)) { b[layer] = tensor; bKeys[layer] = key; styles.Add(LoraFileFormat.Peft); }
            else if (TrySplit(name, ".lora.down.weight", out layer)) { a[layer] = tensor; aKeys[layer] = key; styles.Add(LoraFileFormat.DiffusersLoraLayers); }
            else if (TrySplit(name, ".lora.up.weight", out layer)) { b[layer] = tensor; bKeys[layer] = key; styles.Add(LoraFileFormat.DiffusersLoraLayers); }
            else unexpected.Add(key);
        }
        var format = styles.Contains(LoraFileFormat.DiffusersAttentionProcessors) ? LoraFileFormat.DiffusersAttentionProcessors
            : styles.Contains(LoraFileFormat.DiffusersLoraLayers) ? LoraFileFormat.DiffusersLoraLayers : LoraFileFormat.Peft;
        var settings = Settings(path, metadata, keyPrefix);
        // PeftModel.save_pretrained keeps alpha only in adapter_config.json; without it the scale is unknown, and
        // assuming alpha = rank would load a differently scaled adapter without a word.
        if (settings is null && tensors.Keys.Any(k => k.StartsWith(PeftModelPrefix, StringComparison.Ordinal)))
            throw new SafetensorsFormatException(path,
                $"the keys start with '{PeftModelPrefix}' (PeftModel.save_pretrained), whose lora_alpha and r are kept only in {PeftConfigFileName}, and there is none next to the file; put the adapter's {PeftConfigFileName} beside it or pass the adapter folder.");
        return Assemble(path, format, a, b,
            l => layerAlphas.TryGetValue(l, out var own) ? own : settings?.AlphaFor(l) ?? a[l].shape[0], settings is null ? null : settings.RankFor,
            layers, unexpected, ignored, metadata,
            l => aKeys.GetValueOrDefault(l, $"{keyPrefix}{l}.lora_A.weight"), l => bKeys.GetValueOrDefault(l, $"{keyPrefix}{l}.lora_B.weight"));
    }

    private static bool TrySplit(string name, string suffix, out string layer)
    {
        layer = name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : "";
        return layer.Length > 0;
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
        return Assemble(path, LoraFileFormat.Kohya, a, b, l => alphas.TryGetValue(l, out var v) ? v : a[l].shape[0], null, layers,
            unexpected, ignored, metadata, l => KohyaName(l) + ".lora_down.weight", l => KohyaName(l) + ".lora_up.weight");
    }

    // A per-layer alpha tensor's value (a non-float dtype such as bool reads as its number).
    private static double AlphaOf(Tensor tensor) => tensor.to(ScalarType.Float64).item<double>();

    private static LoraFileContents Assemble(string path, LoraFileFormat format, Dictionary<string, Tensor> a, Dictionary<string, Tensor> b,
        Func<string, double> alphaOf, Func<string, int?>? configRankOf, IReadOnlyDictionary<string, LoraLinear> layers, List<string> unexpected, List<string> ignored,
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
            // PEFT builds the layer with the config's rank, so weights of another rank do not load there either.
            if (configRankOf?.Invoke(layerPath) is { } configRank && configRank != rank)
            {
                misShaped.Add($"{aKey(layerPath)}: file rank {rank} vs rank {configRank} in the LoRA config (r / rank_pattern)");
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
    /// The PEFT settings that hold for this file, or null when it records none (then alpha = rank). Three sources
    /// are read: the top-level <c>lora_alpha</c> entry (a string, as safetensors metadata always is), the PEFT
    /// config in <c>lora_adapter_metadata</c> (diffusers &gt;= 0.34), and an <c>adapter_config.json</c> next to the
    /// file (a PEFT folder). Where several are present they must agree.
    /// </summary>
    private static PeftLoraSettings? Settings(string path, IReadOnlyDictionary<string, string> metadata, string keyPrefix)
    {
        double? topLevel = null;
        if (metadata.TryGetValue("lora_alpha", out var text))
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new SafetensorsFormatException(path, $"__metadata__ lora_alpha '{text}' is not a number.");
            topLevel = value;
        }
        PeftLoraSettings? embedded = null;
        if (metadata.TryGetValue("lora_adapter_metadata", out var json))
        {
            if (!StrictJson.TryParse(json, default, out var document, out var problem))
                throw new SafetensorsFormatException(path, $"__metadata__ lora_adapter_metadata (the PEFT LoraConfig) is unusable: {problem}");
            using (document)
                embedded = PeftLoraSettings.Parse(document.RootElement, "lora_adapter_metadata", keyPrefix, PeftLoraSettings.MetadataError(path),
                    $"{path} (__metadata__ lora_adapter_metadata)");
        }
        if (topLevel is { } t && embedded?.Alpha is { } p && t != p)
            throw new SafetensorsFormatException(path,
                $"__metadata__ lora_alpha '{text}' disagrees with lora_adapter_metadata's lora_alpha {p.ToString("R", CultureInfo.InvariantCulture)}; which one holds is ambiguous.");

        PeftLoraSettings? folder = null;
        var configPath = Path.Combine(Path.GetDirectoryName(path)!, PeftConfigFileName);
        if (File.Exists(configPath))
        {
            if (!StrictJson.TryParseFile(configPath, default, out var document, out var problem))
                throw new ModelConfigException(configPath, $"not a usable PEFT adapter config: {problem}");
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("peft_type", out var type) && type.ValueKind == JsonValueKind.String
                    && type.GetString() is { } peftType && peftType != "LORA")
                    throw new ModelConfigException(configPath, $"peft_type is '{peftType}'; only LORA adapters can be loaded.");
                folder = PeftLoraSettings.Parse(root, PeftConfigFileName, keyPrefix, PeftLoraSettings.ConfigError(configPath), configPath);
            }
        }

        var chosen = embedded ?? (topLevel is { } alpha ? new PeftLoraSettings(null, alpha, [], []) : null);
        if (folder is null) return chosen;
        if (chosen is not null && !(chosen.Rank is null ? chosen.Alpha == folder.Alpha : chosen.SameAs(folder)))
            throw new ModelConfigException(configPath,
                $"its r / lora_alpha / rank_pattern / alpha_pattern disagree with the LoRA config in the __metadata__ of '{path}'; which one holds is ambiguous. Remove one of them.");
        return folder;
    }

    /// <summary>Writes adapter weights in the PEFT / diffusers layout, atomically.</summary>
    /// <param name="path">Target .safetensors file.</param>
    /// <param name="layers">Adapted layers by module path.</param>
    /// <param name="keyPrefix">Prefix of every key, e.g. "unet.".</param>
    /// <param name="targetModules">The target names, recorded in the metadata.</param>
    public static void Write(string path, IReadOnlyDictionary<string, LoraLinear> layers, string keyPrefix, IReadOnlyList<string> targetModules) =>
        Write(path, layers, keyPrefix, targetModules, LoraFileFormat.Peft);

    /// <summary>Writes adapter weights in the given layout, atomically.</summary>
    /// <param name="path">Target .safetensors file.</param>
    /// <param name="layers">Adapted layers by module path.</param>
    /// <param name="keyPrefix">Prefix of every PEFT key, e.g. "unet." (kohya-ss keys always start with <c>lora_unet_</c>).</param>
    /// <param name="targetModules">The target names, recorded in the metadata.</param>
    /// <param name="layout">
    /// <see cref="LoraFileFormat.Peft"/>: <c>&lt;prefix&gt;&lt;module&gt;.lora_A.weight</c> / <c>.lora_B.weight</c> with a PEFT
    /// LoraConfig in <c>lora_adapter_metadata</c>; layers whose rank or alpha differ from the most common one are
    /// listed in its <c>rank_pattern</c> / <c>alpha_pattern</c>, as PEFT and diffusers &gt;= 0.34 write them.
    /// <see cref="LoraFileFormat.Kohya"/>: <c>lora_unet_&lt;module with '_'&gt;.lora_down.weight</c>, <c>.lora_up.weight</c>
    /// and a per-layer <c>.alpha</c>, the layout kohya-ss writes and A1111 and ComfyUI load.
    /// </param>
    /// <exception cref="ArgumentException">A layout this library only reads.</exception>
    /// <exception cref="InvalidOperationException">No layer carries an adapter.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, LoraLinear> layers, string keyPrefix, IReadOnlyList<string> targetModules,
        LoraFileFormat layout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(targetModules);
        if (layout is not (LoraFileFormat.Peft or LoraFileFormat.Kohya))
            throw new ArgumentException($"LoRA files can be written as {LoraFileFormat.Peft} or {LoraFileFormat.Kohya}; {layout} is a layout this library only reads.", nameof(layout));
        var adapted = layers.Where(l => l.Value.HasAdapter).OrderBy(l => l.Key, StringComparer.Ordinal).ToList();
        if (adapted.Count == 0) throw new InvalidOperationException("No layer carries a LoRA adapter; nothing to save.");
        var owned = new List<Tensor>();
        try
        {
            var (tensors, metadata) = layout == LoraFileFormat.Kohya
                ? LoraFileWriter.KohyaContent(adapted, targetModules, owned)
                : LoraFileWriter.PeftContent(adapted, keyPrefix, targetModules);
            SafetensorsWriter.Save(path, tensors, metadata);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }
}
