using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The <c>hidden_act</c> names of transformers' CLIP configs and their functions. SD v1.5's text
/// encoder and OpenAI's CLIP use <c>quick_gelu</c> (x * sigmoid(1.702 x)); OpenCLIP-converted
/// checkpoints (SD 2.x) use the exact erf <c>gelu</c>.
/// </summary>
public static class ClipActivation
{
    /// <summary>The names this library implements.</summary>
    public static IReadOnlyList<string> SupportedNames { get; } =
        ["quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish"];

    /// <summary>True when <paramref name="name"/> is one of <see cref="SupportedNames"/>.</summary>
    public static bool IsSupported(string name) => SupportedNames.Contains(name, StringComparer.Ordinal);

    /// <summary>Applies the named activation.</summary>
    /// <exception cref="ArgumentException">The name is not supported.</exception>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "quick_gelu" => x * nn.functional.sigmoid(x * 1.702),
        "gelu" => nn.functional.gelu(x),
        // transformers' gelu_new and gelu_pytorch_tanh are both the tanh approximation.
        "gelu_new" or "gelu_pytorch_tanh" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        "silu" or "swish" => nn.functional.silu(x),
        _ => throw new ArgumentException(
            $"Unknown activation '{name}'; supported: {string.Join(", ", SupportedNames)}.", nameof(name)),
    };
}
