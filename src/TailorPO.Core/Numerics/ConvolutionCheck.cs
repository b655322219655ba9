using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>
/// Checks one convolution (forward, input, weight and bias gradients) on a given path against the float64 im2col
/// reference, which involves no convolution kernel at all.
/// </summary>
internal static class ConvolutionCheck
{
    /// <summary>The worst relative error of <paramref name="convolution"/> over output and gradients (+inf for NaN/inf).</summary>
    public static double WorstError(ConvolutionShape shape, Func<Tensor, Tensor, Tensor, Tensor> convolution, int seed, ScalarType dtype = ScalarType.Float32) =>
        OpCheck.WorstError(
            t => convolution(t[0], t[1], t[2]),
            t => ReferenceConvolution.Conv2d(t[0], t[1], t[2], shape.Stride, shape.Padding),
            [
                ([shape.Batch, shape.In, shape.Height, shape.Width], 1.0),
                ([shape.Out, shape.In, shape.Kernel, shape.Kernel], 1.0 / Math.Sqrt(shape.In * shape.Kernel * shape.Kernel)),
                ([shape.Out], 1.0),
            ],
            dtype, seed);
}
