namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// Welch's unequal-variance t-test and the one-sample t-test, on values over seeds. The Welch–Satterthwaite degrees of
/// freedom are (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1)).
/// </summary>
public static class WelchTest
{
    /// <summary>Tests mean(a) - mean(b); the claimed direction is a &gt; b.</summary>
    /// <exception cref="ArgumentException">A group has fewer than two values (no variance to estimate).</exception>
    public static TTestResult Compare(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count < 2 || b.Count < 2)
            throw new ArgumentException($"Welch's t-test needs at least two values per group; got {a.Count} and {b.Count}. Use more seeds.");
        var (ma, va) = MeanAndVariance(a);
        var (mb, vb) = MeanAndVariance(b);
        var (qa, qb) = (va / a.Count, vb / b.Count);
        var se = Math.Sqrt(qa + qb);
        var df = (qa + qb) * (qa + qb) / (qa * qa / (a.Count - 1) + qb * qb / (b.Count - 1));
        return new TTestResult(ma - mb, se, df);
    }

    /// <summary>Tests mean(values) - <paramref name="reference"/> (n - 1 degrees of freedom); the claimed direction is above it.</summary>
    /// <exception cref="ArgumentException">Fewer than two values.</exception>
    public static TTestResult OneSample(IReadOnlyList<double> values, double reference)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count < 2) throw new ArgumentException($"A one-sample t-test needs at least two values; got {values.Count}. Use more seeds.");
        var (mean, variance) = MeanAndVariance(values);
        return new TTestResult(mean - reference, Math.Sqrt(variance / values.Count), values.Count - 1);
    }

    /// <summary>The mean and the unbiased sample variance.</summary>
    public static (double Mean, double Variance) MeanAndVariance(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var mean = values.Average();
        var variance = values.Count < 2 ? double.NaN : values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return (mean, variance);
    }
}
