namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// Two one-sided tests (TOST) for equivalence within ±margin: the difference is shown to lie inside the margin when
/// both H0: d ≤ -margin and H0: d ≥ +margin are rejected; the TOST p-value is the larger of the two one-sided
/// p-values. The evidence against equivalence is the one-sided p-value that |d| exceeds the margin on the side of the
/// estimate.
/// </summary>
public static class EquivalenceTest
{
    /// <summary>The TOST p-value (evidence for |d| &lt; margin) and the p-value for |d| &gt; margin.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The margin is not positive.</exception>
    public static (double PEquivalent, double PNotEquivalent) Test(TTestResult difference, double margin)
    {
        ArgumentNullException.ThrowIfNull(difference);
        if (!(margin > 0)) throw new ArgumentOutOfRangeException(nameof(margin), margin, "An equivalence margin is positive.");
        if (!difference.IsDefined) return (double.NaN, double.NaN);
        var (d, se, df) = (difference.Difference, difference.StandardError, difference.DegreesOfFreedom);
        var aboveLower = StudentT.UpperTail((d + margin) / se, df); // H0: d <= -margin
        var belowUpper = StudentT.Cdf((d - margin) / se, df);       // H0: d >= +margin
        var outside = d >= 0 ? StudentT.UpperTail((d - margin) / se, df) : StudentT.Cdf((d + margin) / se, df);
        return (Math.Max(aboveLower, belowUpper), outside);
    }
}
