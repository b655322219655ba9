using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// The TorchSharp layers the models are built from, created the way <see cref="SkipInitScope"/> asks.
/// Without a scope each factory is exactly the TorchSharp factory it names (same random initialisation,
/// same draws from the global generator, so seeded construction stays bit-identical). Within a scope the
/// parameters are uninitialised tensors in the scope's dtype and device; TorchSharp's constructors always
/// initialise, so those that take no parameters are run on the meta device (shapes only: no memory, no
/// work) and their parameters swapped for the real ones.
/// </summary>
internal static class Layers
{
    /// <summary><c>torch.nn.Linear</c> (keys <c>weight</c> [out, in], <c>bias</c> [out]).</summary>
    public static Linear Linear(long inFeatures, long outFeatures, bool hasBias = true)
    {
        if (SkipInitScope.Current is not { } scope) return nn.Linear(inFeatures, outFeatures, hasBias);
        return nn.Linear(scope.Empty(outFeatures, inFeatures), hasBias ? scope.Empty(outFeatures) : null);
    }

    /// <summary><c>torch.nn.LayerNorm</c> over the last dimension (keys <c>weight</c>, <c>bias</c> when affine).</summary>
    public static LayerNorm LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        if (SkipInitScope.Current is not { } scope) return nn.LayerNorm(normalizedShape, eps, elementwiseAffine);
        var norm = nn.LayerNorm(normalizedShape, eps, elementwiseAffine, device: META);
        if (elementwiseAffine)
        {
            norm.weight = scope.Empty(normalizedShape);
            norm.bias = scope.Empty(normalizedShape);
        }
        return norm;
    }

    /// <summary><c>torch.nn.Embedding</c> (key <c>weight</c> [count, dim]).</summary>
    public static Embedding Embedding(long count, long dim)
    {
        if (SkipInitScope.Current is not { } scope) return nn.Embedding(count, dim);
        // TorchSharp's native Embedding constructors always initialise a weight of the given size in float32
        // on the CPU from the global generator (from_pretrained too, before it installs the tensor given). Built
        // 0 x 0 that is no memory and no draw; the setter then installs the real weight itself (no copy). The
        // native options keep the 0 x 0 size, which only printing reads: forward takes the weight's shape.
        using var sizeless = empty([0, 0], device: META);
        var embedding = nn.Embedding_from_pretrained(sizeless, freeze: false, device: META);
        embedding.weight = scope.Empty(count, dim);
        return embedding;
    }
}
