using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Support;

/// <summary>Central finite differences in float64, the independent reference for autograd gradients.</summary>
internal static class FiniteDifference
{
    /// <summary>d f / d x for every element of x (float64, no grad), with step h.</summary>
    public static double[] Gradient(Func<Tensor, double> f, Tensor x, double h = 1e-6)
    {
        var point = x.detach().clone().to_type(ScalarType.Float64);
        var flat = point.flatten();
        var gradient = new double[flat.numel()];
        for (var i = 0; i < gradient.Length; i++)
        {
            var original = flat[i].item<double>();
            flat[i] = original + h;
            var plus = f(point);
            flat[i] = original - h;
            var minus = f(point);
            flat[i] = original;
            gradient[i] = (plus - minus) / (2 * h);
        }
        return gradient;
    }

    /// <summary>Asserts two gradients agree within atol + rtol |expected| element-wise.</summary>
    public static void AssertClose(double[] expected, double[] actual, double atol = 1e-7, double rtol = 1e-5, string what = "gradient")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}[{i}]: finite differences {expected[i]:R}, autograd {actual[i]:R}");
        }
    }
}
