using System.Globalization;

namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// A t statistic of a difference d (claimed direction: d &gt; 0) with its standard error and degrees of freedom, and the
/// one-sided p-values of both directions.
/// </summary>
/// <param name="Difference">The estimated difference (mean of the claimed-larger minus the other, or mean minus the threshold).</param>
/// <param name="StandardError">Its standard error.</param>
/// <param name="DegreesOfFreedom">Degrees of freedom of the t distribution (Welch–Satterthwaite for two samples).</param>
public sealed record TTestResult(double Difference, double StandardError, double DegreesOfFreedom)
{
    /// <summary>t = d / se (NaN when the standard error is zero or undefined).</summary>
    public double T => StandardError > 0 ? Difference / StandardError : double.NaN;

    /// <summary>One-sided p-value for d &gt; 0: P(T ≥ t) under d = 0. NaN when undefined (fewer than two values per group).</summary>
    public double PGreater => IsDefined ? StudentT.UpperTail(T, DegreesOfFreedom) : double.NaN;

    /// <summary>One-sided p-value for d &lt; 0.</summary>
    public double PLess => IsDefined ? StudentT.Cdf(T, DegreesOfFreedom) : double.NaN;

    /// <summary>Two-sided p-value: 2 min(PGreater, PLess), at most 1.</summary>
    public double PTwoSided => IsDefined ? Math.Min(1, 2 * Math.Min(PGreater, PLess)) : double.NaN;

    /// <summary>True when t and its degrees of freedom exist.</summary>
    public bool IsDefined => double.IsFinite(T) && DegreesOfFreedom > 0;

    /// <summary>"d = … ± se, t(df) = …".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"d = {Difference:G3} ± {StandardError:G2}, t({DegreesOfFreedom:G3}) = {T:F2}");
}
