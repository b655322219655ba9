using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>
/// Runs one op forward and backward (the gradient of every input) in a given dtype and measures it against the same
/// op in float64 on the same rounded values. Errors are relative to the largest float64 magnitude of each tensor:
/// rounding scores about 1e-7 (float32) or 1e-3 (bfloat16); the defects this guards against score about 1 or NaN.
/// </summary>
internal static class OpCheck
{
    /// <summary>The largest relative error float32 rounding may leave (measured worst for a convolution: 2.3e-6 on AVX-512, 7.2e-6 with oneDNN limited to AVX2; the defects score about 1).</summary>
    public const double Float32Tolerance = 2e-5;

    /// <summary>bfloat16 keeps 8 significant bits; a few roundings along a reduction stay below this (measured up to 9.2e-3).</summary>
    public const double BFloat16Tolerance = 3e-2;

    /// <summary>The tolerance of a dtype.</summary>
    public static double ToleranceOf(ScalarType dtype) => dtype == ScalarType.BFloat16 ? BFloat16Tolerance : Float32Tolerance;

    /// <summary>The worst relative error over the output and every input gradient; +inf when anything is not finite.</summary>
    /// <param name="op">The op; it must accept any floating dtype (the reference runs it in float64).</param>
    /// <param name="reference">The float64 reference of the op, or null to run <paramref name="op"/> itself in float64.</param>
    /// <param name="inputs">The inputs' shapes and scales (standard normal times the scale).</param>
    /// <param name="dtype">The dtype to check.</param>
    /// <param name="seed">The seed of the values.</param>
    public static double WorstError(Func<Tensor[], Tensor> op, Func<Tensor[], Tensor>? reference, (long[] Shape, double Scale)[] inputs, ScalarType dtype, int seed)
    {
        using var scope = NewDisposeScope();
        using var enable = enable_grad();
        var generator = new Generator((ulong)seed);
        // Both sides see the same rounded values: the reference differs only by the arithmetic.
        var values = inputs.Select(i => (randn(i.Shape, dtype: ScalarType.Float64, generator: generator) * i.Scale).to(dtype).to(ScalarType.Float64)).ToArray();
        var expected = Run(reference ?? op, values, null, generator);
        var actual = Run(op, values.Select(v => v.to(dtype)).ToArray(), expected.OutputGradient, generator);
        double worst = 0;
        for (int i = 0; i < expected.Tensors.Length; i++)
            worst = Math.Max(worst, RelativeError(expected.Tensors[i], actual.Tensors[i]));
        return worst;
    }

    private sealed record Outcome(Tensor[] Tensors, Tensor OutputGradient);

    /// <summary>Output and input gradients, all as float64; the output gradient is drawn on the first (reference) run.</summary>
    private static Outcome Run(Func<Tensor[], Tensor> op, Tensor[] values, Tensor? outputGradient, Generator generator)
    {
        var leaves = values.Select(v => v.clone().requires_grad_(true)).ToArray();
        var y = op(leaves);
        outputGradient ??= randn(y.shape, dtype: ScalarType.Float64, generator: generator).to(y.dtype).to(ScalarType.Float64);
        var grads = autograd.grad([y], leaves, [outputGradient.to(y.dtype)]);
        return new Outcome([y.detach().to(ScalarType.Float64), .. grads.Select(g => g.to(ScalarType.Float64))], outputGradient);
    }

    /// <summary>max |actual - expected| / max |expected|, or +inf when actual holds a NaN or infinity.</summary>
    public static double RelativeError(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        var difference = (actual.to(ScalarType.Float64) - expected).abs();
        // One host read for the pair: [max |difference| (NaN propagates), max |expected|].
        var both = stack([difference.max(), expected.abs().max()]).data<double>().ToArray();
        if (!double.IsFinite(both[0])) return double.PositiveInfinity;
        return both[0] / Math.Max(both[1], 1e-30);
    }
}
