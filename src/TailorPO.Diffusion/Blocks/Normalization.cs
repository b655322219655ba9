using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Blocks;

/// <summary>
/// Normalisation layers initialised as PyTorch initialises them. TorchSharp 0.107's
/// <c>nn.GroupNorm</c> leaves its affine weight and bias uninitialised (torch.empty), which only
/// goes unnoticed when a checkpoint overwrites them; models built from scratch need weight 1, bias 0.
/// </summary>
internal static class Normalization
{
    /// <summary>A GroupNorm with weight 1 and bias 0 (keys <c>weight</c>, <c>bias</c>); uninitialised in the dtype and device of a <see cref="SkipInitScope"/>.</summary>
    public static GroupNorm GroupNorm(long numGroups, long numChannels, double eps)
    {
        if (SkipInitScope.Current is { } scope)
            return nn.GroupNorm(numGroups, numChannels, eps, affine: true, device: scope.Device, dtype: scope.DType);
        var norm = nn.GroupNorm(numGroups, numChannels, eps, affine: true);
        using (no_grad())
        {
            norm.weight.fill_(1.0);
            norm.bias!.zero_();
        }
        return norm;
    }
}
