namespace TailorPO.Rewards.Tests.Analytic;

/// <summary>
/// Plain-loop float64 implementations of the analytic rewards' textbook definitions (no eps), the
/// independent reference for the tensor code. Images are [B][3][H*W] arrays.
/// </summary>
internal static class AnalyticReferences
{
    internal static double[][][] ToArrays(TorchSharp.torch.Tensor images)
    {
        var b = (int)images.shape[0];
        var n = (int)(images.shape[2] * images.shape[3]);
        var flat = images.detach().to(TorchSharp.torch.ScalarType.Float64).contiguous().data<double>().ToArray();
        var result = new double[b][][];
        for (var i = 0; i < b; i++)
        {
            result[i] = new double[3][];
            for (var c = 0; c < 3; c++)
                result[i][c] = flat.Skip((i * 3 + c) * n).Take(n).ToArray();
        }
        return result;
    }

    /// <summary>Hasler and Suesstrunk's M with population standard deviations.</summary>
    internal static double Colorfulness(double[][] image, double scale = 1)
    {
        var n = image[0].Length;
        var rg = new double[n];
        var yb = new double[n];
        for (var p = 0; p < n; p++)
        {
            double r = image[0][p] * scale, g = image[1][p] * scale, bl = image[2][p] * scale;
            rg[p] = r - g;
            yb[p] = 0.5 * (r + g) - bl;
        }
        double meanRg = rg.Average(), meanYb = yb.Average();
        var stdRg = Math.Sqrt(rg.Select(v => (v - meanRg) * (v - meanRg)).Average());
        var stdYb = Math.Sqrt(yb.Select(v => (v - meanYb) * (v - meanYb)).Average());
        return Math.Sqrt(stdRg * stdRg + stdYb * stdYb) + 0.3 * Math.Sqrt(meanRg * meanRg + meanYb * meanYb);
    }

    /// <summary>Mean of (max - min) / (max + eps) over pixels; eps = 0 gives HSV's S (pixels must not be black).</summary>
    internal static double Saturation(double[][] image, double epsilon)
    {
        var n = image[0].Length;
        var sum = 0.0;
        for (var p = 0; p < n; p++)
        {
            var max = Math.Max(image[0][p], Math.Max(image[1][p], image[2][p]));
            var min = Math.Min(image[0][p], Math.Min(image[1][p], image[2][p]));
            sum += (max - min) / (max + epsilon);
        }
        return sum / n;
    }

    internal static double[] Luma(double[][] image) =>
        Enumerable.Range(0, image[0].Length).Select(p => 0.299 * image[0][p] + 0.587 * image[1][p] + 0.114 * image[2][p]).ToArray();

    internal static double Brightness(double[][] image, double target)
    {
        var mean = Luma(image).Average();
        return -(mean - target) * (mean - target);
    }

    internal static double Contrast(double[][] image, double target)
    {
        var luma = Luma(image);
        var mean = luma.Average();
        var std = Math.Sqrt(luma.Select(v => (v - mean) * (v - mean)).Average());
        return -(std - target) * (std - target);
    }
}
