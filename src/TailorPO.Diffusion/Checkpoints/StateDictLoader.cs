using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Loads a state dict into a module after checking names AND shapes of every key.
/// (TorchSharp's own load_state_dict broadcasts silently on a shape mismatch and its strict
/// mode names no keys.) Values are converted to each parameter's dtype and device on copy, so
/// fp16/bf16 files load into fp32 modules and back. Files are streamed: shapes are checked from the
/// headers, then one tensor at a time is read and copied.
/// </summary>
public static class StateDictLoader
{
    /// <summary>Copies <paramref name="weights"/> into <paramref name="module"/>.</summary>
    /// <param name="module">The module whose <c>state_dict()</c> keys must all be supplied.</param>
    /// <param name="weights">Tensors by state-dict key (any dtype/device); not disposed.</param>
    /// <param name="source">Where the weights came from, for the error message.</param>
    /// <param name="ignoreKey">Checkpoint keys to skip (e.g. buffers a file carries that the module recomputes).</param>
    /// <param name="optionalKey">Module keys that may be absent from the checkpoint (e.g. LoRA adapters).</param>
    /// <exception cref="StateDictMismatchException">Any key is missing, unexpected or mis-shaped.</exception>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string source,
        Func<string, bool>? ignoreKey = null, Func<string, bool>? optionalKey = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(weights);
        using var tensors = new DictionarySource(weights, source, owns: false);
        Load(module, tensors, ignoreKey, optionalKey);
    }

    /// <summary>
    /// Checks every name and shape from <paramref name="source"/>'s headers first (nothing is read when
    /// anything is missing, unexpected or mis-shaped), then streams the tensors one at a time into the
    /// module's parameters (converted to each parameter's dtype and device on copy), so the weights are
    /// never held twice.
    /// </summary>
    /// <returns>The module keys that were written.</returns>
    internal static IReadOnlySet<string> Load(nn.Module module, TensorSource source, Func<string, bool>? ignoreKey = null, Func<string, bool>? optionalKey = null)
    {
        var target = module.state_dict();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var misShaped = new List<string>();

        foreach (var (key, parameter) in target)
        {
            if (!source.Contains(key))
            {
                if (optionalKey is null || !optionalKey(key)) missing.Add(key);
                continue;
            }
            var shape = source.ShapeOf(key);
            if (!shape.SequenceEqual(parameter.shape))
                misShaped.Add($"{key}: checkpoint [{string.Join(", ", shape)}] vs module [{string.Join(", ", parameter.shape)}]");
        }
        foreach (var key in source.Keys)
        {
            if (!target.ContainsKey(key) && (ignoreKey is null || !ignoreKey(key))) unexpected.Add(key);
        }

        if (missing.Count + unexpected.Count + misShaped.Count > 0)
        {
            missing.Sort(StringComparer.Ordinal);
            unexpected.Sort(StringComparer.Ordinal);
            misShaped.Sort(StringComparer.Ordinal);
            throw new StateDictMismatchException(source.Description, module.GetName(), missing, unexpected, misShaped);
        }

        using var noGrad = no_grad();
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, parameter) in target)
        {
            if (!source.Contains(key)) continue;
            using var value = source.Read(key);
            parameter.copy_(value);
            written.Add(key);
        }
        return written;
    }
}
