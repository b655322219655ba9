namespace TailorPO.Labeling.Reports;

/// <summary>
/// The Wilson score interval of a binomial proportion (Wilson 1927; Newcombe 1998's method 3): the set of p whose
/// score test at level alpha does not reject x successes in n trials. Unlike the Wald interval it stays inside
/// [0, 1] and keeps near-nominal coverage for small n and extreme proportions, as win rates over a few votes have.
/// </summary>
internal static class WilsonInterval
{
    /// <summary>The standard normal quantile of 0.975 (a two-sided 95% interval).</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The interval for <paramref name="successes"/> of <paramref name="trials"/>; (NaN, NaN) when there are no trials.</summary>
    public static (double Lower, double Upper) Compute(int successes, int trials, double z = Z95)
    {
        if (trials < 0 || successes < 0 || successes > trials)
            throw new ArgumentOutOfRangeException(nameof(successes), $"Expected 0 <= successes <= trials; got {successes} of {trials}.");
        if (trials == 0) return (double.NaN, double.NaN);
        double n = trials, p = successes / n, z2 = z * z;
        var denominator = 1 + z2 / n;
        var centre = (p + z2 / (2 * n)) / denominator;
        var half = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
