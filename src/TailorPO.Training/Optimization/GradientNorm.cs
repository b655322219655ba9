using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Optimization;

/// <summary>
/// Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (norm_type 2) computes it - factor
/// min(1, maxNorm / (norm + 1e-6)) - kept on the device: TorchSharp's clip_grad_norm_ returns the norm as a double, a
/// host read per step. The norm is summed in float64 (torch sums in the gradients' dtype). Tested against torch 1.13.
/// </summary>
internal static class GradientNorm
{
    /// <summary>Scales the gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping (0-d, float64).</summary>
    public static Tensor Clip(IReadOnlyList<Parameter> parameters, double? maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return zeros([], ScalarType.Float64, parameters[0].device).MoveToOuterDisposeScope();
        var norm = stack(grads.Select(g => g.to_type(ScalarType.Float64).square().sum()).ToArray()).sum().sqrt();
        if (maxNorm is { } max)
        {
            // Never multiply by NaN: a non-finite norm is caught by the step's finiteness check and the update skipped.
            var factor = (max / (norm + 1e-6)).clamp_max(1.0).nan_to_num(1.0, 1.0, 1.0);
            foreach (var g in grads) g.mul_(factor.to_type(g.dtype));
        }
        return norm.MoveToOuterDisposeScope();
    }
}
