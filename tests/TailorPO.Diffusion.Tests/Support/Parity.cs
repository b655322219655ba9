using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Support;

/// <summary>The tolerances the model parity tests agreed on.</summary>
internal static class Parity
{
    /// <summary>The parity tolerance: atol 1e-4 scaled by the expected magnitude when it exceeds 1.</summary>
    public static double Atol(Tensor expected)
    {
        using var scope = NewDisposeScope();
        var maxAbs = expected.detach().abs().max().to(ScalarType.Float64).item<double>();
        return 1e-4 * Math.Max(1.0, maxAbs);
    }

    /// <summary>Same shape, same dtype and bit-identical values.</summary>
    public static bool BitEqual(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var scope = NewDisposeScope();
        return a.eq(b).all().item<bool>();
    }

    /// <summary>Half-precision dtypes and the tolerance relative to the output scale each must meet against float32.</summary>
    public static IEnumerable<object[]> ReducedPrecisions() =>
    [
        [ScalarType.BFloat16, 5e-2],
        [ScalarType.Float16, 1e-2],
    ];
}
