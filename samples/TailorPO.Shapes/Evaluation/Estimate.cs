namespace TailorPO.Shapes.Evaluation;

/// <summary>A mean over graded images and its standard error.</summary>
/// <param name="Mean">The mean.</param>
/// <param name="StandardError">Sample standard deviation over the images divided by the square root of their count (NaN below two).</param>
public readonly record struct Estimate(double Mean, double StandardError)
{
    /// <summary>The mean and standard error of <paramref name="values"/>.</summary>
    public static Estimate Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return new Estimate(double.NaN, double.NaN);
        var mean = values.Average();
        if (values.Count < 2) return new Estimate(mean, double.NaN);
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return new Estimate(mean, Math.Sqrt(variance / values.Count));
    }

    /// <summary>The mean in standard errors (NaN when the standard error is zero or undefined).</summary>
    public double StandardErrors => StandardError > 0 ? Mean / StandardError : double.NaN;
}
