using static TorchSharp.torch;

namespace TailorPO.TestUtilities;

/// <summary>Finite-difference gradients, the independent reference for autograd in gradient checks.</summary>
public static class CentralDifferences
{
    /// <summary>
    /// The gradient of the scalar <paramref name="f"/> at <paramref name="x"/> by central differences
    /// (f(x + h e_i) - f(x - h e_i)) / 2h for every element i. Use float64 inputs.
    /// </summary>
    public static Tensor Gradient(Func<Tensor, double> f, Tensor x, double h = 1e-6)
    {
        using var noGrad = no_grad();
        var baseValues = x.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
        var gradient = new double[baseValues.Length];
        for (var i = 0; i < baseValues.Length; i++)
        {
            gradient[i] = (Evaluate(f, x, baseValues, i, +h) - Evaluate(f, x, baseValues, i, -h)) / (2 * h);
        }
        return tensor(gradient, dtype: ScalarType.Float64).reshape(x.shape);
    }

    /// <summary>The autograd gradient of <c>f(x)</c> (a scalar tensor) at <paramref name="x"/>.</summary>
    public static Tensor Autograd(Func<Tensor, Tensor> f, Tensor x)
    {
        using var grad = enable_grad();
        var leaf = x.detach().clone().requires_grad_(true);
        var value = f(leaf);
        return autograd.grad([value], [leaf])[0].detach();
    }

    /// <summary>
    /// The directional derivative of <paramref name="f"/> at <paramref name="x"/> along
    /// <paramref name="direction"/> by a central difference: (f(x + h v) - f(x - h v)) / 2h. Cheap
    /// gradient checks for large inputs: compare with (autograd gradient . v).
    /// </summary>
    public static double Directional(Func<Tensor, double> f, Tensor x, Tensor direction, double h = 1e-6)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var basePoint = x.detach();
        return (f(basePoint + h * direction) - f(basePoint - h * direction)) / (2 * h);
    }

    private static double Evaluate(Func<Tensor, double> f, Tensor x, double[] baseValues, int index, double step)
    {
        using var scope = NewDisposeScope();
        var values = (double[])baseValues.Clone();
        values[index] += step;
        var shifted = tensor(values, dtype: ScalarType.Float64).reshape(x.shape).to(x.dtype);
        return f(shifted);
    }
}
