using System.Globalization;

namespace TailorPO.Reproduction.Statistics;

/// <summary>Mean and seed-to-seed standard deviation of one measured quantity over training (or analysis) seeds.</summary>
/// <param name="Values">One value per seed.</param>
public sealed record SeedStatistics(IReadOnlyList<double> Values)
{
    /// <summary>The mean.</summary>
    public double Mean => Values.Count == 0 ? double.NaN : Values.Average();

    /// <summary>The sample standard deviation over seeds (NaN for fewer than two).</summary>
    public double Std => Values.Count < 2 ? double.NaN : Math.Sqrt(WelchTest.MeanAndVariance(Values).Variance);

    /// <summary>"mean ± std" with <paramref name="format"/>; the mean alone for one value (no spread to state).</summary>
    public string Format(string format = "G4") => Values.Count == 1
        ? Mean.ToString(format, CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Std.ToString(format, CultureInfo.InvariantCulture)}");

    /// <summary>Statistics of values over seeds.</summary>
    public static SeedStatistics Of(IEnumerable<double> values) => new(values.ToList());
}
