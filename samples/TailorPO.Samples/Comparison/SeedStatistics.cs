using System.Globalization;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Mean and seed-to-seed standard deviation of one measured quantity over training seeds (or evaluation seeds), and
/// the comparison rule every verdict of the page uses.
/// </summary>
/// <param name="Values">One value per seed.</param>
public sealed record SeedStatistics(IReadOnlyList<double> Values)
{
    /// <summary>The mean.</summary>
    public double Mean => Values.Count == 0 ? double.NaN : Values.Average();

    /// <summary>The sample standard deviation over seeds (NaN for fewer than two).</summary>
    public double Std
    {
        get
        {
            if (Values.Count < 2) return double.NaN;
            var mean = Mean;
            return Math.Sqrt(Values.Sum(v => (v - mean) * (v - mean)) / (Values.Count - 1));
        }
    }

    /// <summary>The standard error of the mean.</summary>
    public double StandardError => Std / Math.Sqrt(Values.Count);

    /// <summary>"mean ± std" with <paramref name="format"/>.</summary>
    public string Format(string format = "G4") =>
        string.Create(CultureInfo.InvariantCulture, $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Std.ToString(format, CultureInfo.InvariantCulture)}");

    /// <summary>Statistics of values over seeds.</summary>
    public static SeedStatistics Of(IEnumerable<double> values) => new(values.ToList());

    /// <summary>
    /// Compares <paramref name="a"/> (claimed larger) with <paramref name="b"/>: the difference of means and its standard
    /// error sqrt(se_a^2 + se_b^2). A difference beyond two standard errors in the claimed direction reproduces the
    /// claim; beyond two in the other direction contradicts it; anything else is inconclusive at this many seeds.
    /// </summary>
    public static Verdict Compare(SeedStatistics a, SeedStatistics b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var difference = a.Mean - b.Mean;
        var error = Math.Sqrt(Square(a.StandardError) + Square(b.StandardError));
        var outcome = !double.IsFinite(error) ? "inconclusive (one seed)"
            : difference > 2 * error ? "reproduced"
            : difference < -2 * error ? "not reproduced (the opposite holds)"
            : "inconclusive (within two standard errors)";
        return new Verdict(outcome, difference, error);
    }

    private static double Square(double x) => x * x;
}

/// <summary>The outcome of <see cref="SeedStatistics.Compare"/>.</summary>
/// <param name="Outcome">reproduced / not reproduced / inconclusive, as words.</param>
/// <param name="Difference">Mean of the claimed-larger minus mean of the other.</param>
/// <param name="StandardError">The standard error of the difference.</param>
public sealed record Verdict(string Outcome, double Difference, double StandardError)
{
    /// <summary>"outcome (difference d ± se)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Outcome} (difference {Difference:G3} ± {StandardError:G2})");

    /// <summary>True when the claim was reproduced.</summary>
    public bool Reproduced => Outcome == "reproduced";
}
