using TailorPO.Labeling.Reports;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

public sealed class StatisticsTests
{
    [Fact]
    public void Wilson_interval_of_no_successes_has_the_closed_form_upper_bound_z2_over_n_plus_z2()
    {
        const double z = WilsonInterval.Z95;
        foreach (var n in new[] { 1, 20, 263 })
        {
            var (lower, upper) = WilsonInterval.Compute(0, n);
            Assert.Equal(0, lower, 12);
            Assert.Equal(z * z / (n + z * z), upper, 12);
            // And its mirror: n successes of n.
            var (mirrorLower, mirrorUpper) = WilsonInterval.Compute(n, n);
            Assert.Equal(n / (n + z * z), mirrorLower, 12);
            Assert.Equal(1, mirrorUpper, 12);
        }
    }

    [Theory]
    // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine 17, Table I, method 3 (score).
    [InlineData(81, 263, 0.2553, 0.3662)]
    [InlineData(15, 148, 0.0624, 0.1605)]
    [InlineData(0, 20, 0.0, 0.1611)]
    [InlineData(1, 29, 0.0061, 0.1718)]
    public void Wilson_interval_matches_Newcombe_1998_table_1(int successes, int trials, double lower, double upper)
    {
        var (l, u) = WilsonInterval.Compute(successes, trials);
        Assert.Equal(lower, l, 4);
        Assert.Equal(upper, u, 4);
    }

    [Fact]
    public void Fleiss_kappa_matches_the_published_worked_example()
    {
        // Fleiss' kappa's standard worked example (10 subjects, 14 raters, 5 categories), e.g. Wikipedia "Fleiss' kappa":
        // P-bar = 0.378, P_e = 0.213, kappa = 0.210.
        int[][] table =
        [
            [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
        ];
        Assert.Equal(0.210, FleissKappa.Compute(table), 3);
    }

    [Fact]
    public void Fleiss_kappa_is_one_for_perfect_agreement_and_its_closed_form_for_two_raters_who_always_disagree()
    {
        Assert.Equal(1.0, FleissKappa.Compute([[3, 0, 0], [0, 3, 0], [3, 0, 0]]), 12);
        // Two raters, two categories, every subject split: P-bar = 0, p = (1/2, 1/2), P_e = 1/2, kappa = -1.
        Assert.Equal(-1.0, FleissKappa.Compute([[1, 1, 0], [1, 1, 0]]), 12);
        Assert.True(double.IsNaN(FleissKappa.Compute([[1, 0, 0]])));
    }

    [Fact]
    public void Win_rate_report_counts_B_over_A_per_prompt_and_overall_with_ties_apart()
    {
        PairTally Tally(long id, string prompt, int a, int b, int tie) =>
            new(id, PairKinds.Model, prompt, id, "a.png", "b.png", "base", "base + lora", null, null, a, b, tie, 1);
        var report = WinRateReport.From([Tally(1, "circle", 1, 2, 0), Tally(2, "circle", 0, 3, 0), Tally(3, "square", 2, 0, 1),
            new PairTally(4, PairKinds.Trajectory, "circle", 4, "x", "y", "m", "m", null, null, 9, 0, 0, 0)]);
        var circle = report.Prompts.Single(r => r.Prompt == "circle");
        Assert.Equal((5, 1, 0), (circle.BWins, circle.AWins, circle.Ties));
        Assert.Equal(5.0 / 6, circle.WinRate, 12);
        Assert.Equal(WilsonInterval.Compute(5, 6), circle.Interval);
        Assert.Equal((5, 3, 1), (report.Overall.BWins, report.Overall.AWins, report.Overall.Ties));
        Assert.Equal(1.0 / 9, report.Overall.TieRate, 12);
        Assert.Equal(3, report.Pairs);
        Assert.Equal(FleissKappa.Compute([[1, 2, 0], [0, 3, 0], [2, 0, 1]]), report.Kappa, 12);
        Assert.Contains("| **overall** | 5 | 3 | 1 | 0.625 |", report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void Win_rate_without_model_pairs_says_how_to_make_them()
    {
        var error = Assert.Throws<LabelingException>(() => WinRateReport.From([]));
        Assert.Contains("--lora", error.Message, StringComparison.Ordinal);
    }
}
