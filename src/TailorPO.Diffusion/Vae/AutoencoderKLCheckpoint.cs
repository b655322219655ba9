using System.Text.RegularExpressions;
using TailorPO.Diffusion.Checkpoints;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// Key conversions diffusers applies when it loads older VAE files: SD v1.5's original
/// diffusers-format VAE (saved by diffusers &lt; 0.14) names the mid-block attention's linear
/// layers <c>query</c>/<c>key</c>/<c>value</c>/<c>proj_attn</c>, and files converted from the
/// original LDM checkpoint may hold them as 1x1 convolutions ([out, in, 1, 1]).
/// </summary>
internal static partial class AutoencoderKLCheckpoint
{
    [GeneratedRegex(@"^(?<prefix>(encoder|decoder)\.mid_block\.attentions\.\d+)\.(?<name>query|key|value|proj_attn|to_q|to_k|to_v|to_out\.0)\.(?<param>weight|bias)$")]
    private static partial Regex AttentionKey();

    private static readonly Dictionary<string, string> Renames = new(StringComparer.Ordinal)
    {
        ["query"] = "to_q",
        ["key"] = "to_k",
        ["value"] = "to_v",
        ["proj_attn"] = "to_out.0",
    };

    /// <summary>
    /// Returns the weights with legacy attention names renamed and 1x1-conv attention weights
    /// viewed as linear weights. Tensors that change are replaced by new tensors (the old ones
    /// are disposed); the rest are passed through.
    /// </summary>
    /// <exception cref="Checkpoints.ModelConfigException">A file holds both the legacy and the current name of one weight.</exception>
    /// <summary>
    /// The source seen with current names: legacy attention keys renamed and 1x1-conv attention kernels
    /// read as linear weights; every other key as it is.
    /// </summary>
    /// <exception cref="Checkpoints.ModelConfigException">A key is present under both a legacy and a current name.</exception>
    public static TensorSource Adapt(TensorSource source)
    {
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal);
        foreach (var key in source.Keys)
        {
            var shape = source.ShapeOf(key);
            var match = AttentionKey().Match(key);
            if (!match.Success)
            {
                if (!map.TryAdd(key, new TensorMapping(key, shape)))
                    throw new Checkpoints.ModelConfigException(source.Description, $"the weights hold '{key}' twice (under a legacy and a current name).");
                continue;
            }
            var name = match.Groups["name"].Value;
            var newKey = $"{match.Groups["prefix"].Value}.{Renames.GetValueOrDefault(name, name)}.{match.Groups["param"].Value}";
            var mapping = shape.Length == 4 && shape[2] == 1 && shape[3] == 1
                ? new TensorMapping(key, [shape[0], shape[1]], Reshape: true)
                : new TensorMapping(key, shape);
            if (!map.TryAdd(newKey, mapping))
                throw new Checkpoints.ModelConfigException(source.Description, $"the weights hold '{newKey}' twice (under a legacy and a current name).");
        }
        return new MappedSource(source, map, []);
    }
}
