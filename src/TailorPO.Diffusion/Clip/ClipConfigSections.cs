using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Clip;

/// <summary>Shared config reading and checks of the text and vision configs.</summary>
internal static class ClipConfigSections
{
    /// <summary>
    /// The object that describes one tower: the root of a single-tower config, or the nested
    /// section of a <c>CLIPConfig</c> (with its legacy <c>*_dict</c> twin overriding it, as in
    /// transformers). A single-tower config of the other tower is refused.
    /// </summary>
    public static JsonConfigObject Select(JsonConfigObject root, string sectionKey, string legacySectionKey,
        string ownModelType, string otherModelType)
    {
        var section = root.Object(sectionKey);
        var legacy = root.Object(legacySectionKey);
        if (section is not null || legacy is not null)
            return (section ?? legacy!).OverlaidWith(section is null ? null : legacy);

        var modelType = root.String("model_type", ownModelType);
        if (modelType == otherModelType)
            throw new ModelConfigException(root.Source,
                $"'model_type' is '{modelType}', but a '{ownModelType}' config (or a 'clip' config with '{sectionKey}') is needed here.");
        if (modelType == "clip")
            throw new ModelConfigException(root.Source, $"a 'clip' config without '{sectionKey}'.");
        return root;
    }

    /// <summary>The ranges of the integer keys both towers share.</summary>
    public static readonly IReadOnlyDictionary<string, (long Min, long Max)> SharedRanges = new Dictionary<string, (long, long)>(StringComparer.Ordinal)
    {
        ["hidden_size"] = (1, 65_536),
        ["intermediate_size"] = (1, 262_144),
        ["projection_dim"] = (1, 65_536),
        ["num_hidden_layers"] = (1, 256),
        ["num_attention_heads"] = (1, 4_096),
    };

    /// <summary>Reads an integer key of <paramref name="section"/> within its range in <paramref name="ranges"/>.</summary>
    public static long Int(JsonConfigObject section, IReadOnlyDictionary<string, (long Min, long Max)> ranges, string key, long fallback)
    {
        var (min, max) = ranges[key];
        return section.Int(key, fallback, min, max);
    }

    /// <summary>Checks each value against its range in <paramref name="ranges"/>.</summary>
    public static void RequireInRange(string source, IReadOnlyDictionary<string, (long Min, long Max)> ranges, params (string Key, long Value)[] values)
    {
        foreach (var (key, value) in values)
        {
            var (min, max) = ranges[key];
            if (value < min || value > max) throw new ModelConfigException(source, ModelSizeLimits.OutOfRange(key, value, min, max) + ".");
        }
    }

    /// <summary>One CLIP encoder layer: attention (4 linears), two LayerNorms, the MLP.</summary>
    public static Int128 EncoderLayerParameters(Int128 hidden, Int128 intermediate) =>
        4 * ParameterMath.Linear(hidden, hidden) + 2 * ParameterMath.Norm(hidden)
        + ParameterMath.Linear(hidden, intermediate) + ParameterMath.Linear(intermediate, hidden);

    public static void RequireCommon(string source, long hiddenSize, long heads, string hiddenAct, double layerNormEps)
    {
        if (hiddenSize % heads != 0)
            throw new ModelConfigException(source, $"'hidden_size' {hiddenSize} is not a multiple of 'num_attention_heads' {heads}.");
        if (!ClipActivation.IsSupported(hiddenAct))
            throw new ModelConfigException(source,
                $"'hidden_act' is '{hiddenAct}', which this library does not implement; supported: {string.Join(", ", ClipActivation.SupportedNames)}.");
        if (!(layerNormEps > 0) || double.IsInfinity(layerNormEps))
            throw new ModelConfigException(source, $"'layer_norm_eps' is {layerNormEps}, expected a positive number.");
    }
}
