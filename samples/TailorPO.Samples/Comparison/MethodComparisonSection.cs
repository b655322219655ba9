using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Section 1 (the paper's Table 2 and Fig. 4): every method trained on JPEG compressibility and on colourfulness (a
/// differentiable reward, so TailorPO-G runs too) under one image budget, evaluated on held-out prompts and seeds, with
/// wall time, NFE and reward-vs-images curves; verdicts on the paper's orderings follow the measured numbers.
/// </summary>
public static class MethodComparisonSection
{
    /// <summary>The two training rewards.</summary>
    public static readonly IReadOnlyList<string> Rewards = ["jpeg-compressibility", "colorfulness"];

    /// <summary>The methods trained on <paramref name="reward"/> (TailorPO-G only on a differentiable one).</summary>
    public static IReadOnlyList<string> Methods(string reward) => reward == "colorfulness"
        ? ["ddpo", "d3po", "diffusion-dpo", "tailorpo", "tailorpo-g"]
        : ["ddpo", "d3po", "diffusion-dpo", "tailorpo"];

    /// <summary>The run of a method on a reward at the comparison's T_finetune.</summary>
    public static ComparisonRun Run(ComparisonContext context, string method, string reward, long seed)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ComparisonRun(method, reward, seed, context.Sizing.TrainedSteps);
    }

    /// <summary>Held-out reward of the runs (one value per training seed).</summary>
    public static SeedStatistics HeldOut(IEnumerable<RunResult> runs, string reward) => SeedStatistics.Of(runs.Select(r => r.Final.Scores.HeldOutMean(reward)));

    /// <summary>Trains what is missing and writes the section.</summary>
    public static async Task<string> WriteAsync(ComparisonContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("## 1. Method comparison (Table 2, Fig. 4)");
        md.AppendLine();
        md.AppendLine(c, $"Each method is trained from the embedded base model with LoRA rank 4, lr {Commands.AlignSettings.EmbeddedLearningRate}, batch {context.Sizing.Batch}, " +
            $"{context.Sizing.Steps} DDIM steps (eta 1, CFG {ComparisonPage.GuidanceScale}), T_finetune {context.Sizing.TrainedSteps}, beta 0.1, " +
            $"and a budget of {context.Sizing.Budget} images (the budget rule above). Rewards are evaluated on {context.Evaluator.HeldOutPrompts.Count} held-out prompts x " +
            $"{context.Evaluator.Seeds.Count} evaluation seeds; every cell is the mean ± the standard deviation over the training seeds. " +
            $"Wall times come from a machine shared with other jobs whose load changed during the run, so compare the methods' costs by NFE " +
            $"(deterministic) rather than by seconds.");
        md.AppendLine();
        foreach (var reward in Rewards)
        {
            var baseStats = SeedStatistics.Of(context.BaseScores.HeldOut[reward]);
            var rows = new List<(string Method, IReadOnlyList<RunResult> Runs)>();
            foreach (var method in Methods(reward))
                rows.Add((method, await context.Runner.SeedsAsync(seed => Run(context, method, reward, seed), context.CancellationToken).ConfigureAwait(false)));

            md.AppendLine(c, $"### Trained and evaluated on {reward}");
            md.AppendLine();
            md.AppendLine("| method | held-out reward | change vs base | images | NFE | NFE per image | training wall time (s) |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
            md.AppendLine(c, $"| base model | {baseStats.Format()} (std over evaluation seeds) | 0 | 0 | 0 | - | - |");
            foreach (var (method, runs) in rows)
            {
                var heldOut = HeldOut(runs, reward);
                var change = SeedStatistics.Of(runs.Select(r => r.Final.Scores.HeldOutMean(reward) - baseStats.Mean));
                var images = SeedStatistics.Of(runs.Select(r => (double)r.Final.Samples));
                var nfe = SeedStatistics.Of(runs.Select(r => (double)r.Final.NoiseEvaluations));
                var perImage = SeedStatistics.Of(runs.Select(r => r.Final.NoiseEvaluations / (double)Math.Max(1, r.Final.Samples)));
                var wall = SeedStatistics.Of(runs.Select(r => r.Final.TrainSeconds));
                md.AppendLine(c, $"| {method} | {heldOut.Format()} | {change.Format()} | {images.Mean:F0} | {nfe.Format("F0")} | {perImage.Format("F1")} | {wall.Format("F0")} |");
            }
            md.AppendLine();

            var (path, link) = context.Image($"sec1-curve-{reward}.png");
            ResultPlots.Lines(path, $"Held-out {reward} vs images generated (mean ± std over seeds)", "images generated in training", reward,
                rows.Select(row => Curve(row.Method, row.Runs, reward, baseStats.Mean)));
            md.AppendLine(c, $"![reward vs images, {reward}]({link})");
            md.AppendLine();

            md.AppendLine("Claims (the paper's Table 2 ordering), decided by the numbers above:");
            md.AppendLine();
            var byMethod = rows.ToDictionary(r => r.Method, r => HeldOut(r.Runs, reward));
            // Against the base model the comparison is paired (same evaluation images): the change over training seeds vs 0.
            var tailorChange = SeedStatistics.Of(byMethod["tailorpo"].Values.Select(v => v - baseStats.Mean));
            md.AppendLine(c, $"- TailorPO > base model: {SeedStatistics.Compare(tailorChange, SeedStatistics.Of(tailorChange.Values.Select(_ => 0.0)))}");
            foreach (var other in new[] { "d3po", "ddpo", "diffusion-dpo" })
                md.AppendLine(c, $"- TailorPO > {other}: {SeedStatistics.Compare(byMethod["tailorpo"], byMethod[other])}");
            if (byMethod.TryGetValue("tailorpo-g", out var guided))
            {
                md.AppendLine(c, $"- TailorPO-G > TailorPO: {SeedStatistics.Compare(guided, byMethod["tailorpo"])}");
                md.AppendLine(c, $"- TailorPO-G > D3PO: {SeedStatistics.Compare(guided, byMethod["d3po"])}");
            }
            md.AppendLine();
        }
        return ComparisonPage.EndSectionWithVerdicts(md, context, clock);
    }

    private static ResultPlots.Series Curve(string method, IReadOnlyList<RunResult> runs, string reward, double baseMean)
    {
        var stages = runs.Min(r => r.Stages.Count);
        var x = new List<double> { 0 };
        var y = new List<double> { baseMean };
        var e = new List<double> { double.NaN };
        for (var k = 0; k < stages; k++)
        {
            var stats = SeedStatistics.Of(runs.Select(r => r.Stages[k].Scores.HeldOutMean(reward)));
            x.Add(runs.Average(r => (double)r.Stages[k].Samples));
            y.Add(stats.Mean);
            e.Add(stats.Std);
        }
        return new ResultPlots.Series(method, [.. x], [.. y], [.. e]);
    }
}
