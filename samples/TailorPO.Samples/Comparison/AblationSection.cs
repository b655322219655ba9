using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Section 5 (the paper's Table 10): step-level ranking with pairs from different inputs (TailorPO's
/// <c>DifferentInputs</c> pairing), + pairs from the same x_t (TailorPO), + gradient guidance (TailorPO-G); trained on
/// colourfulness with section 1's budget. The last two rows are section 1's runs.
/// </summary>
public static class AblationSection
{
    /// <summary>The reward of the ablation (differentiable, so the guided row exists).</summary>
    public const string Reward = "colorfulness";

    /// <summary>Trains what is missing and writes the section.</summary>
    public static async Task<string> WriteAsync(ComparisonContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var t = context.Sizing.TrainedSteps;
        var rows = new (string Label, string PaperValue, Func<long, ComparisonRun> Run)[]
        {
            ("step-level ranking (pairs from different x_T)", "6.40", seed => new ComparisonRun("tailorpo", Reward, seed, t, Pairing: "different-inputs")),
            ("+ same x_t (TailorPO)", "6.69", seed => new ComparisonRun("tailorpo", Reward, seed, t)),
            ("+ gradient guidance (TailorPO-G)", "6.78", seed => new ComparisonRun("tailorpo-g", Reward, seed, t)),
        };
        var results = new List<SeedStatistics>();
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("## 5. Ablation (Table 10)");
        md.AppendLine();
        md.AppendLine($"Trained on {Reward} with section 1's settings and budget. The first row ranks, at each trained step, the samples of two trajectories " +
            "from different x_T by their step rewards and takes the DPO loss on their two different inputs (D3PO's form with TailorPO's ranking); both " +
            "trajectories continue, so it generates two images per prompt.");
        md.AppendLine();
        md.AppendLine("| configuration | held-out reward | change vs base | NFE per image | training wall time (s) | paper (aesthetic) |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- |");
        var baseMean = context.BaseScores.HeldOutMean(Reward);
        foreach (var (label, paper, run) in rows)
        {
            var runs = await context.Runner.SeedsAsync(run, context.CancellationToken).ConfigureAwait(false);
            var stats = MethodComparisonSection.HeldOut(runs, Reward);
            results.Add(stats);
            md.AppendLine(c, $"| {label} | {stats.Format()} | {SeedStatistics.Of(stats.Values.Select(v => v - baseMean)).Format()} | " +
                $"{SeedStatistics.Of(runs.Select(r => r.Final.NoiseEvaluations / (double)Math.Max(1, r.Final.Samples))).Format("F1")} | " +
                $"{SeedStatistics.Of(runs.Select(r => r.Final.TrainSeconds)).Format("F0")} | {paper} |");
        }
        md.AppendLine();
        var (path, link) = context.Image("sec5-ablation.png");
        var x = Enumerable.Range(0, rows.Length).Select(i => (double)i).ToArray();
        ResultPlots.Lines(path, $"Ablation on {Reward}: 0 = step-level ranking, 1 = + same x_t, 2 = + guidance", "configuration", $"held-out {Reward}",
            [
                new ResultPlots.Series("held-out reward (mean ± std over seeds)", x, results.Select(r => r.Mean).ToArray(), results.Select(r => r.Std).ToArray()),
                new ResultPlots.Series("base model", x, x.Select(_ => baseMean).ToArray(), x.Select(_ => double.NaN).ToArray()),
            ]);
        md.AppendLine(c, $"![ablation]({link})");
        md.AppendLine();
        md.AppendLine("Claims (Table 10: each component adds reward):");
        md.AppendLine();
        md.AppendLine(c, $"- same x_t > different x_T: {SeedStatistics.Compare(results[1], results[0])}");
        md.AppendLine(c, $"- + guidance > same x_t: {SeedStatistics.Compare(results[2], results[1])}");
        md.AppendLine();
        return ComparisonPage.EndSectionWithVerdicts(md, context, clock);
    }
}
