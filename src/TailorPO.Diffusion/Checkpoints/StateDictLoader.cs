using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Loads a state dict into a module after checking names AND shapes of every key.
/// (TorchSharp's own load_state_dict broadcasts silently on a shape mismatch and its strict
/// mode names no keys.) Values are converted to each parameter's dtype and device on copy, so
/// fp16/bf16 files load into fp32 modules and back.
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

        var target = module.state_dict();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var misShaped = new List<string>();

        foreach (var (key, parameter) in target)
        {
            if (!weights.TryGetValue(key, out var value))
            {
                if (optionalKey is null || !optionalKey(key)) missing.Add(key);
                continue;
            }
            if (!value.shape.SequenceEqual(parameter.shape))
                misShaped.Add($"{key}: checkpoint [{string.Join(", ", value.shape)}] vs module [{string.Join(", ", parameter.shape)}]");
        }
        foreach (var key in weights.Keys)
        {
            if (!target.ContainsKey(key) && (ignoreKey is null || !ignoreKey(key))) unexpected.Add(key);
        }

        if (missing.Count + unexpected.Count + misShaped.Count > 0)
        {
            missing.Sort(StringComparer.Ordinal);
            unexpected.Sort(StringComparer.Ordinal);
            misShaped.Sort(StringComparer.Ordinal);
            throw new StateDictMismatchException(source, module.GetName(), missing, unexpected, misShaped);
        }

        using var noGrad = no_grad();
        foreach (var (key, parameter) in target)
        {
            if (weights.TryGetValue(key, out var value)) parameter.copy_(value);
        }
    }
}
