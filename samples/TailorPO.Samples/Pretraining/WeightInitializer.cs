using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Samples.Pretraining;

/// <summary>
/// Initialises a freshly built model from a seeded generator (so the initial weights are a function
/// of the run's seed, not of torch's global generator): norms weight 1 / bias 0, token and position
/// embeddings N(0, 0.02^2) (transformers' CLIP), other matrices and kernels U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// (PyTorch's default bound), other biases 0, and the last convolution of every resnet (conv2) and the
/// UNet's conv_out at 0, so every resnet starts as the identity. The transformers' proj_out keeps its
/// random start: at 0 the text would reach nothing and the text encoder would get no gradient.
/// </summary>
public static class WeightInitializer
{
    /// <summary>Re-initialises every parameter of <paramref name="module"/>.</summary>
    public static void Initialize(nn.Module module, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(generator);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            var owner = name.Contains('.') ? name[..name.LastIndexOf('.')] : "";
            var ownerLeaf = owner[(owner.LastIndexOf('.') + 1)..];
            if (parameter.dim() == 1 && ownerLeaf.Contains("norm", StringComparison.Ordinal))
            {
                if (leaf == "weight") parameter.fill_(1.0);
                else parameter.zero_();
            }
            else if (name.EndsWith("token_embedding.weight", StringComparison.Ordinal) || name.EndsWith("position_embedding.weight", StringComparison.Ordinal))
            {
                parameter.normal_(0.0, 0.02, generator);
            }
            else if (IsZeroInitialised(name))
            {
                parameter.zero_();
            }
            else if (parameter.dim() >= 2)
            {
                var fanIn = parameter.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                var bound = 1.0 / Math.Sqrt(fanIn);
                parameter.uniform_(-bound, bound, generator);
            }
            else
            {
                parameter.zero_();
            }
        }
    }

    private static bool IsZeroInitialised(string name) =>
        name is "conv_out.weight" or "conv_out.bias"
        || name.EndsWith(".conv2.weight", StringComparison.Ordinal);
}
