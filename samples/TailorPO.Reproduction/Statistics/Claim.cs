using System.Globalization;

namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// One claim of the paper, tested on measured values: the p-value of the evidence FOR it and AGAINST it. Its decision
/// p-value is 2 min(for, against) (both directions are looked at, so both are paid for), and Holm's correction runs
/// over the decision p-values of every claim on the page (<see cref="ClaimVerdicts"/>).
/// </summary>
/// <param name="Statement">The claim as the page states it, e.g. "TailorPO > D3PO (equal updates)".</param>
/// <param name="PFor">One-sided p-value of the test whose rejection supports the claim.</param>
/// <param name="PAgainst">One-sided p-value of the test whose rejection contradicts it.</param>
/// <param name="Evidence">The estimate behind the p-values, for the page (difference, standard error, t, df).</param>
/// <param name="Test">The test, named (e.g. "Welch", "one-sample t vs 0.13", "TOST ±0.02").</param>
public sealed record Claim(string Statement, double PFor, double PAgainst, string Evidence, string Test)
{
    /// <summary>The decision p-value: min(1, 2 min(PFor, PAgainst)); NaN when undefined.</summary>
    public double DecisionP => double.IsNaN(PFor) || double.IsNaN(PAgainst) ? double.NaN : Math.Min(1, 2 * Math.Min(PFor, PAgainst));

    /// <summary>Claimed: mean(a) &gt; mean(b), decided by Welch's t-test (a two-sided p-value as the decision p).</summary>
    public static Claim Greater(string statement, IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var t = WelchTest.Compare(a, b);
        return new Claim(statement, t.PGreater, t.PLess, t.ToString(), "Welch");
    }

    /// <summary>Claimed: mean(values) &gt; <paramref name="reference"/>, one-sample t-test.</summary>
    public static Claim Above(string statement, IReadOnlyList<double> values, double reference)
    {
        var t = WelchTest.OneSample(values, reference);
        return new Claim(statement, t.PGreater, t.PLess, t.ToString(), string.Create(CultureInfo.InvariantCulture, $"one-sample t vs {reference:G3}"));
    }

    /// <summary>Claimed: mean(values) &lt; <paramref name="reference"/>, one-sample t-test.</summary>
    public static Claim Below(string statement, IReadOnlyList<double> values, double reference)
    {
        var t = WelchTest.OneSample(values, reference);
        return new Claim(statement, t.PLess, t.PGreater, t.ToString(), string.Create(CultureInfo.InvariantCulture, $"one-sample t vs {reference:G3}"));
    }

    /// <summary>
    /// Claimed: the proportion of successes among independent events exceeds <paramref name="reference"/>, decided by the exact
    /// binomial test (<see cref="BinomialTest"/>).
    /// </summary>
    public static Claim ProportionAbove(string statement, int successes, int trials, double reference) =>
        new(statement, BinomialTest.UpperTail(successes, trials, reference), BinomialTest.LowerTail(successes, trials, reference),
            BinomialTest.Describe(successes, trials), string.Create(CultureInfo.InvariantCulture, $"exact binomial vs {reference:G3}"));

    /// <summary>Claimed: |mean(a) - mean(b)| &lt; <paramref name="margin"/>, decided by TOST on Welch's statistic.</summary>
    public static Claim Equivalent(string statement, IReadOnlyList<double> a, IReadOnlyList<double> b, double margin)
    {
        var t = WelchTest.Compare(a, b);
        var (pEquivalent, pNot) = EquivalenceTest.Test(t, margin);
        return new Claim(statement, pEquivalent, pNot, t.ToString(), string.Create(CultureInfo.InvariantCulture, $"TOST ±{margin:G3}"));
    }
}
