using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Tests;

/// <summary>The harness's statistics against SciPy (the fixture) and against closed forms.</summary>
public class StatisticsTests
{
    [Fact]
    public void The_incomplete_beta_function_matches_scipy()
    {
        var cases = StatisticsFixture.Cases("incomplete_beta").ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            var (x, a, b) = (c.Double("x"), c.Double("a"), c.Double("b"));
            StatisticsFixture.Close(c.Double("value"), SpecialFunctions.RegularizedIncompleteBeta(x, a, b), 1e-11, $"I_{x}({a}, {b})");
        }
    }

    [Theory]
    [InlineData(0.3, 2.5)]
    [InlineData(0.77, 0.4)]
    [InlineData(0.05, 7.0)]
    public void The_incomplete_beta_function_has_its_closed_forms_when_a_or_b_is_one(double x, double p)
    {
        // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
        StatisticsFixture.Close(Math.Pow(x, p), SpecialFunctions.RegularizedIncompleteBeta(x, p, 1), 1e-12, "I_x(a, 1)");
        StatisticsFixture.Close(1 - Math.Pow(1 - x, p), SpecialFunctions.RegularizedIncompleteBeta(x, 1, p), 1e-12, "I_x(1, b)");
    }

    [Fact]
    public void Log_gamma_matches_scipy()
    {
        foreach (var c in StatisticsFixture.Cases("log_gamma"))
            StatisticsFixture.Close(c.Double("value"), SpecialFunctions.LogGamma(c.Double("x")), 1e-12, $"ln Γ({c.Double("x")})");
    }

    [Fact]
    public void The_student_t_cdf_matches_scipy_including_fractional_and_large_degrees_of_freedom()
    {
        foreach (var c in StatisticsFixture.Cases("student_t_cdf"))
            StatisticsFixture.Close(c.Double("cdf"), StudentT.Cdf(c.Double("t"), c.Double("df")), 1e-10, $"F_t({c.Double("t")}; {c.Double("df")})");
    }

    [Theory]
    [InlineData(-30.0)]
    [InlineData(-1.3)]
    [InlineData(0.25)]
    [InlineData(4.0)]
    [InlineData(1e3)]
    public void The_student_t_cdf_has_the_cauchy_and_two_degree_closed_forms(double t)
    {
        // df = 1 is the Cauchy distribution: 1/2 + atan(t)/pi; df = 2: 1/2 + t / (2 sqrt(2 + t^2)).
        StatisticsFixture.Close(0.5 + Math.Atan(t) / Math.PI, StudentT.Cdf(t, 1), 1e-12, "Cauchy");
        StatisticsFixture.Close(0.5 + t / (2 * Math.Sqrt(2 + t * t)), StudentT.Cdf(t, 2), 1e-12, "df 2");
        // The upper tail without cancellation: P(T >= t) = F(-t).
        StatisticsFixture.Close(0.5 - Math.Atan(t) / Math.PI, StudentT.UpperTail(t, 1), 1e-10, "Cauchy upper tail");
    }

    [Fact]
    public void Welchs_test_matches_scipys_ttest_ind_with_unequal_variances()
    {
        foreach (var c in StatisticsFixture.Cases("welch"))
        {
            var result = WelchTest.Compare(c.Doubles("a"), c.Doubles("b"));
            StatisticsFixture.Close(c.Double("t"), result.T, 1e-12, "t");
            StatisticsFixture.Close(c.Double("df"), result.DegreesOfFreedom, 1e-12, "Welch–Satterthwaite df");
            StatisticsFixture.Close(c.Double("p_two_sided"), result.PTwoSided, 1e-10, "two-sided p");
            StatisticsFixture.Close(c.Double("p_greater"), result.PGreater, 1e-10, "one-sided p (greater)");
        }
    }

    [Fact]
    public void The_one_sample_test_matches_scipys_ttest_1samp()
    {
        foreach (var c in StatisticsFixture.Cases("one_sample"))
        {
            var result = WelchTest.OneSample(c.Doubles("values"), c.Double("reference"));
            StatisticsFixture.Close(c.Double("t"), result.T, 1e-12, "t");
            StatisticsFixture.Close(c.Double("p_two_sided"), result.PTwoSided, 1e-10, "two-sided p");
            StatisticsFixture.Close(c.Double("p_less"), result.PLess, 1e-10, "one-sided p (less)");
        }
    }

    [Fact]
    public void Tost_is_the_larger_of_two_shifted_one_sided_welch_tests_as_scipy_computes_them()
    {
        foreach (var c in StatisticsFixture.Cases("tost"))
        {
            var (p, _) = EquivalenceTest.Test(WelchTest.Compare(c.Doubles("a"), c.Doubles("b")), c.Double("margin"));
            StatisticsFixture.Close(c.Double("p_tost"), p, 1e-10, "TOST p");
        }
    }

    [Fact]
    public void Holms_correction_matches_its_definition_computed_independently()
    {
        foreach (var c in StatisticsFixture.Cases("holm"))
        {
            var expected = c.Doubles("adjusted");
            var actual = HolmCorrection.Adjust(c.Doubles("p"));
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++) StatisticsFixture.Close(expected[i], actual[i], 1e-15, $"adjusted p[{i}]");
        }
    }

    [Fact]
    public void Holm_leaves_undefined_p_values_out_of_the_family()
    {
        var adjusted = HolmCorrection.Adjust([0.01, double.NaN, 0.04]);
        Assert.True(double.IsNaN(adjusted[1]));
        // A family of two: 2 x 0.01, then max(0.02, 1 x 0.04).
        Assert.Equal(HolmCorrection.Adjust([0.01, 0.04]), new[] { adjusted[0], adjusted[2] });
    }

    [Fact]
    public void Verdicts_follow_the_adjusted_p_value_and_the_direction_of_the_evidence()
    {
        var strong = Enumerable.Range(0, 6).Select(i => 1.0 + 0.01 * i).ToList();
        var zero = Enumerable.Range(0, 6).Select(i => 0.01 * i).ToList();
        var noisy = new List<double> { 0.3, -0.5, 0.1, 0.6, -0.2, 0.0 };
        var forIt = Claim.Greater("a > b", strong, zero);
        var against = Claim.Greater("b > a", zero, strong);
        var unclear = Claim.Greater("noisy > zero", noisy, zero);
        var verdicts = new ClaimVerdicts([forIt, against, unclear]);
        Assert.Equal(ClaimOutcome.Reproduced, verdicts[forIt].Outcome);
        Assert.Equal(ClaimOutcome.Contradicted, verdicts[against].Outcome);
        Assert.Equal(ClaimOutcome.Inconclusive, verdicts[unclear].Outcome);
        // The decision p of a Welch claim is its two-sided p, and Holm only raises it.
        var welch = WelchTest.Compare(strong, zero);
        Assert.Equal(welch.PTwoSided, forIt.DecisionP, 15);
        Assert.True(verdicts[forIt].AdjustedP >= verdicts[forIt].P);
        Assert.Contains("**reproduced**", verdicts.Bullet(forIt), StringComparison.Ordinal);
    }

    [Fact]
    public void A_claim_tested_on_one_seed_is_refused_with_a_message_asking_for_more_seeds()
    {
        var e = Assert.Throws<ArgumentException>(() => Claim.Greater("a > b", [1.0], [0.0, 0.1]));
        Assert.Contains("more seeds", e.Message, StringComparison.Ordinal);
    }
}
