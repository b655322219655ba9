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
    public void The_exact_binomial_test_matches_scipys_binomtest()
    {
        foreach (var c in StatisticsFixture.Cases("binomial"))
        {
            var (k, n, p) = (c.GetProperty("successes").GetInt32(), c.GetProperty("trials").GetInt32(), c.Double("p"));
            StatisticsFixture.Close(c.Double("p_greater"), BinomialTest.UpperTail(k, n, p), 1e-10, $"P(X >= {k}), n {n}, p {p}");
            StatisticsFixture.Close(c.Double("p_less"), BinomialTest.LowerTail(k, n, p), 1e-10, $"P(X <= {k}), n {n}, p {p}");
        }
    }

    [Theory]
    [InlineData(12, 0.83)]
    [InlineData(120, 0.5)]
    [InlineData(7, 0.01)]
    public void The_binomial_tails_have_their_closed_forms_at_the_ends(int n, double p)
    {
        Assert.Equal(Math.Pow(p, n), BinomialTest.UpperTail(n, n, p), 12);
        Assert.Equal(Math.Pow(1 - p, n), BinomialTest.LowerTail(0, n, p), 12);
        Assert.Equal(1.0, BinomialTest.UpperTail(0, n, p));
        Assert.Equal(1.0, BinomialTest.LowerTail(n, n, p));
        // The two tails overlap in P(X = k) only.
        var k = n / 3;
        var pmf = Math.Exp(SpecialFunctions.LogGamma(n + 1) - SpecialFunctions.LogGamma(k + 1) - SpecialFunctions.LogGamma(n - k + 1)
            + k * Math.Log(p) + (n - k) * Math.Log(1 - p));
        Assert.Equal(1.0 + pmf, BinomialTest.UpperTail(k, n, p) + BinomialTest.LowerTail(k, n, p), 10);
    }

    [Fact]
    public void A_proportion_claim_that_every_event_met_is_decided_where_a_t_test_over_seed_means_has_no_answer()
    {
        // Two seeds that both measured 100%: the t-test over seed means has zero variance and no p-value.
        Assert.True(double.IsNaN(Claim.Above("100% > 83%", [1.0, 1.0], 0.83).DecisionP));
        var counted = Claim.ProportionAbove("120 of 120 > 83%", 120, 120, 0.83);
        Assert.Equal(2 * Math.Pow(0.83, 120), counted.DecisionP, 15);
        Assert.Equal(ClaimOutcome.Reproduced, new ClaimVerdicts([counted])[counted].Outcome);
        var below = Claim.ProportionAbove("60 of 120 > 83%", 60, 120, 0.83);
        Assert.Equal(ClaimOutcome.Contradicted, new ClaimVerdicts([below])[below].Outcome);
        Assert.Throws<ArgumentOutOfRangeException>(() => Claim.ProportionAbove("bad", 13, 12, 0.83));
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
