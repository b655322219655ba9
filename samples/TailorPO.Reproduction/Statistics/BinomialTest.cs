using System.Globalization;

namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// The exact binomial test of a proportion against a reference: for claims counted over independent events ("x^+ raises
/// the step reward for more than 83% of samples"), where every event can succeed and a t-test over a few seed means has
/// no variance to work with.
/// </summary>
public static class BinomialTest
{
    /// <summary>P(X &gt;= <paramref name="successes"/>) for X ~ Binomial(<paramref name="trials"/>, <paramref name="p"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count outside 0..trials, no trials, or p outside [0, 1].</exception>
    public static double UpperTail(int successes, int trials, double p)
    {
        Validate(successes, trials, p);
        if (successes == 0) return 1;
        // P(X >= k) = I_p(k, n - k + 1).
        return SpecialFunctions.RegularizedIncompleteBeta(p, successes, trials - successes + 1);
    }

    /// <summary>P(X &lt;= <paramref name="successes"/>) for X ~ Binomial(<paramref name="trials"/>, <paramref name="p"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count outside 0..trials, no trials, or p outside [0, 1].</exception>
    public static double LowerTail(int successes, int trials, double p)
    {
        Validate(successes, trials, p);
        return successes == trials ? 1 : 1 - UpperTail(successes + 1, trials, p);
    }

    /// <summary>"k/n = proportion" for the page's evidence column.</summary>
    public static string Describe(int successes, int trials) =>
        string.Create(CultureInfo.InvariantCulture, $"{successes}/{trials} = {(double)successes / trials:P1}");

    private static void Validate(int successes, int trials, double p)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, 1);
        if (successes < 0 || successes > trials)
            throw new ArgumentOutOfRangeException(nameof(successes), successes, $"Successes must lie in 0..{trials}.");
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "The reference proportion must lie in [0, 1].");
    }
}
