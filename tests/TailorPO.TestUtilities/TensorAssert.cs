using Xunit.Sdk;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities;

/// <summary>Tensor comparisons that report the worst element when they fail.</summary>
public static class TensorAssert
{
    /// <summary>
    /// Asserts |actual - expected| &lt;= atol + rtol * |expected| element-wise, with equal shapes.
    /// NaN in the same places counts as equal.
    /// </summary>
    public static void Close(Tensor expected, Tensor actual, double atol, double rtol = 0, string what = "tensor")
    {
        if (!expected.shape.SequenceEqual(actual.shape))
            throw new XunitException($"{what}: shape [{string.Join(", ", actual.shape)}] but expected [{string.Join(", ", expected.shape)}].");

        using var scope = NewDisposeScope();
        var e = expected.detach().to(ScalarType.Float64).cpu();
        var a = actual.detach().to(ScalarType.Float64).cpu();
        var bothNaN = e.isnan().logical_and(a.isnan());
        var diff = (a - e).abs().masked_fill(bothNaN, 0);
        var bound = atol + rtol * e.abs().nan_to_num();
        var excess = (diff - bound).nan_to_num(nan: double.PositiveInfinity);
        var worst = excess.argmax().item<long>();
        var worstExcess = excess.flatten()[worst].item<double>();
        if (worstExcess > 0)
        {
            var maxAbs = diff.nan_to_num(nan: double.PositiveInfinity).max().item<double>();
            throw new XunitException(
                $"{what}: max |diff| {maxAbs:E3} exceeds atol {atol:E1} + rtol {rtol:E1}|expected|; at flat index {worst}: " +
                $"expected {e.flatten()[worst].item<double>():R}, actual {a.flatten()[worst].item<double>():R}.");
        }
    }

    /// <summary>Max |actual - expected| (for reporting figures).</summary>
    public static double MaxAbsDifference(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        return (actual.detach().to(ScalarType.Float64).cpu() - expected.detach().to(ScalarType.Float64).cpu()).abs().max().item<double>();
    }
}
