using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>
/// The tensors and <c>__metadata__</c> of a LoRA file in each layout <see cref="LoraFile.Write(string, IReadOnlyDictionary{string, LoraLinear}, string, IReadOnlyList{string}, LoraFileFormat)"/>
/// writes. The layers' own parameters are used as they are; tensors made here are added to the caller's list to dispose.
/// </summary>
internal static class LoraFileWriter
{
    /// <summary>The PEFT / diffusers layout: lora_A / lora_B keys and a PEFT LoraConfig with rank and alpha patterns.</summary>
    public static (Dictionary<string, Tensor>, Dictionary<string, string>) PeftContent(List<KeyValuePair<string, LoraLinear>> adapted,
        string keyPrefix, IReadOnlyList<string> targetModules)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (layerPath, layer) in adapted)
        {
            tensors[$"{keyPrefix}{layerPath}.lora_A.weight"] = layer.LoraA!;
            tensors[$"{keyPrefix}{layerPath}.lora_B.weight"] = layer.LoraB!;
        }
        var rank = MostCommon(adapted.Select(l => l.Value.Rank));
        var alpha = MostCommon(adapted.Select(l => l.Value.Alpha));
        var dropouts = adapted.Select(l => l.Value.Dropout).Distinct().ToList();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["target_modules"] = string.Join(",", targetModules),
            ["lora_scale_formula"] = LoraFile.ScaleFormula,
        };
        // The top-level entries are for readers that know no patterns, so they appear only when they hold for every layer.
        if (adapted.All(l => l.Value.Rank == rank)) metadata["rank"] = rank.ToString(CultureInfo.InvariantCulture);
        if (adapted.All(l => l.Value.Alpha == alpha)) metadata["lora_alpha"] = alpha.ToString("R", CultureInfo.InvariantCulture);

        // PEFT matches a pattern key as a regular expression against the module path (or a '.'-separated suffix of
        // it). Full paths are written as they are, as diffusers does: every path starts with down_blocks, mid_block
        // or up_blocks, so a full path can match no other layer even with its dots read as wildcards.
        var rankPattern = new JsonObject();
        var alphaPattern = new JsonObject();
        foreach (var (layerPath, layer) in adapted)
        {
            if (layer.Rank != rank) rankPattern[layerPath] = layer.Rank;
            if (layer.Alpha != alpha) alphaPattern[layerPath] = layer.Alpha;
        }
        var p = keyPrefix.TrimEnd('.');
        string K(string name) => p.Length == 0 ? name : $"{p}.{name}";
        var peft = new JsonObject
        {
            [K("alpha_pattern")] = alphaPattern,
            [K("bias")] = "none",
            [K("init_lora_weights")] = true,
            [K("lora_alpha")] = alpha,
            [K("lora_dropout")] = dropouts.Count == 1 ? dropouts[0] : 0.0,
            [K("peft_type")] = "LORA",
            [K("r")] = rank,
            [K("rank_pattern")] = rankPattern,
            [K("target_modules")] = new JsonArray(targetModules.Order(StringComparer.Ordinal).Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            [K("use_dora")] = false,
            [K("use_rslora")] = false,
        };
        metadata["lora_adapter_metadata"] = peft.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        return (tensors, metadata);
    }

    /// <summary>The kohya-ss layout: lora_unet_ keys with lora_down / lora_up and one alpha per layer.</summary>
    public static (Dictionary<string, Tensor>, Dictionary<string, string>) KohyaContent(List<KeyValuePair<string, LoraLinear>> adapted,
        IReadOnlyList<string> targetModules, List<Tensor> owned)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (layerPath, layer) in adapted)
        {
            var name = LoraFile.KohyaUNetPrefix + layerPath.Replace('.', '_');
            tensors[name + ".lora_down.weight"] = layer.LoraA!;
            tensors[name + ".lora_up.weight"] = layer.LoraB!;
            // kohya-ss stores alpha as a 0-d tensor of the weights' dtype.
            var alpha = tensor(layer.Alpha, layer.LoraA!.dtype);
            owned.Add(alpha);
            tensors[name + ".alpha"] = alpha;
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["target_modules"] = string.Join(",", targetModules),
            ["lora_scale_formula"] = LoraFile.ScaleFormula,
        };
        return (tensors, metadata);
    }

    // The most frequent value; ties go to the smallest, so the choice does not depend on layer order.
    private static T MostCommon<T>(IEnumerable<T> values) where T : IComparable<T> =>
        values.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
}
