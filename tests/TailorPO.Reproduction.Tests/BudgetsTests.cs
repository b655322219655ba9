using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Sections;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Tests;

/// <summary>The budget rules and the Table 6 step mapping.</summary>
public class BudgetsTests
{
    private static readonly ComparisonSizing Sizing = ComparisonSizing.Full;

    [Theory]
    [InlineData("tailorpo", "same-input", 1)]
    [InlineData("tailorpo-g", "same-input", 1)]
    [InlineData("ddpo", "same-input", 1)]
    [InlineData("d3po", "same-input", 2)]
    [InlineData("diffusion-dpo", "same-input", 2)]
    [InlineData("tailorpo", "different-inputs", 2)]
    public void Equal_updates_give_the_methods_that_spend_two_trajectories_on_a_pair_twice_the_images(string method, string pairing, int factor)
    {
        var run = new ComparisonRun(method, "colorfulness", 0, Sizing.TrainedSteps, 2e-3, pairing);
        Assert.Equal(Sizing.Budget * factor, Budgets.EqualUpdatesImages(Sizing, run));
        // TailorPO at the image budget: one update per trained step per batch.
        Assert.Equal(Sizing.Budget / Sizing.Batch * Sizing.TrainedSteps, Budgets.TargetUpdates(Sizing, Sizing.TrainedSteps));
    }

    [Fact]
    public void Equal_nfe_reads_the_image_count_off_the_affine_nfe_line_and_rounds_to_whole_iterations()
    {
        // A method with an offline set (intercept 640 NFE) and 12 NFE per image; the target 1600 lies at 80 images.
        var images = Budgets.EqualNfeImages(Sizing, 1600, 16, 640 + 12 * 16, 64, 640 + 12 * 64);
        Assert.Equal(80, images);
        Assert.Equal(0, images % Sizing.Granularity);
        // One point: the line goes through the origin (15 NFE per image -> 1600 / 15 = 106.7 -> 104, the nearest multiple of 8).
        Assert.Equal(104, Budgets.EqualNfeImages(Sizing, 1600, 64, 960, 64, 960));
    }

    [Fact]
    public void Every_equal_images_point_is_a_whole_iteration_of_every_method()
    {
        foreach (var sizing in new[] { ComparisonSizing.Full, ComparisonSizing.Quick })
        {
            var points = Budgets.EqualImagePoints(sizing);
            Assert.Equal(sizing.Stages, points.Count);
            Assert.Equal(sizing.Budget, points[^1]);
            Assert.All(points, p => Assert.Equal(0, p % sizing.Granularity));
            Assert.True(sizing.Seeds.Count >= 2, "Welch's test needs two seeds per group");
        }
        Assert.True(ComparisonSizing.Full.Seeds.Count >= 5, "the full page uses at least 5 seeds");
    }

    [Fact]
    public void Table_6_probes_the_step_indices_of_t_12_8_4_1_of_20_steps()
    {
        // Index 0 is x_T (t = 20), so t sits at index 20 - t.
        Assert.Equal(new[] { 8, 12, 16, 19 }, StepRewardErrorSection.PaperTimesteps.Select(t => StepRewardErrorSection.StepIndex(t, 20)));
        Assert.Equal(20, ComparisonSizing.Full.EstimateSteps);
        Assert.Equal(100, ComparisonSizing.Full.Continuations);
    }

    [Fact]
    public void The_harness_command_line_parses_its_options_and_names_a_bad_one()
    {
        var options = ReproductionProgram.Parse(["--quick", "--output", "/tmp/docs", "--work", "/tmp/work", "--threads", "2"]);
        Assert.True(options.Quick);
        Assert.Equal(("/tmp/docs", "/tmp/work", 2), (options.OutputFolder, options.WorkFolder, options.Threads));
        Assert.Contains("--unknown", Assert.Throws<FormatException>(() => ReproductionProgram.Parse(["--unknown"])).Message, StringComparison.Ordinal);
        Assert.Contains("--threads", Assert.Throws<FormatException>(() => ReproductionProgram.Parse(["--threads", "x"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sweep_chooses_the_rate_with_the_highest_mean_training_reward()
    {
        var sweep = new[]
        {
            new SweepPoint(1e-3, SeedStatistics.Of([0.40, 0.42])),
            new SweepPoint(2e-3, SeedStatistics.Of([0.50, 0.46])),
            new SweepPoint(4e-3, SeedStatistics.Of([0.30, 0.70])),
        };
        Assert.Equal(4e-3, SweepPoint.Choose(sweep));
        Assert.Equal(2e-3, SweepPoint.Choose(sweep[..2]));
        Assert.Throws<ArgumentException>(() => SweepPoint.Choose([]));
    }
}
