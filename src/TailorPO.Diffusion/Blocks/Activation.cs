using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// The activation functions diffusers configs name (<c>act_fn</c>, <c>resnet_act_fn</c>,
/// <c>timestep_post_act</c>), resolved once from the config string.
/// </summary>
internal static class Activation
{
    private static readonly Dictionary<string, Func<Tensor, Tensor>> ByName = new(StringComparer.Ordinal)
    {
        ["silu"] = x => nn.functional.silu(x),
        ["swish"] = x => nn.functional.silu(x),
        ["mish"] = x => nn.functional.mish(x),
        ["gelu"] = x => nn.functional.gelu(x),
        ["relu"] = x => nn.functional.relu(x),
    };

    /// <summary>The names understood.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>True when <paramref name="name"/> names a supported activation.</summary>
    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    /// <summary>The activation function of that name.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static Func<Tensor, Tensor> Get(string name, string argumentName = "name") =>
        ByName.TryGetValue(name, out var fn)
            ? fn
            : throw new ArgumentException($"Unknown activation '{name}'; supported: {string.Join(", ", Names)}.", argumentName);
}
