namespace TailorPO.Reproduction.Statistics;

/// <summary>Student's t distribution with ν degrees of freedom (ν may be fractional, as Welch's df is).</summary>
public static class StudentT
{
    /// <summary>P(T ≤ t) for T ~ t(ν): 1 - I_{ν/(ν+t²)}(ν/2, 1/2) / 2 for t ≥ 0, and by symmetry for t &lt; 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="degreesOfFreedom"/> is not positive.</exception>
    public static double Cdf(double t, double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0)) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "Student's t needs positive degrees of freedom.");
        if (double.IsNaN(t)) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 1;
        if (double.IsNegativeInfinity(t)) return 0;
        var tail = 0.5 * SpecialFunctions.RegularizedIncompleteBeta(degreesOfFreedom / (degreesOfFreedom + t * t), degreesOfFreedom / 2, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>P(T ≥ t): the upper tail, computed without the cancellation of 1 - Cdf for large t.</summary>
    public static double UpperTail(double t, double degreesOfFreedom) => Cdf(-t, degreesOfFreedom);
}
