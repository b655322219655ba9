using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Section 6 (the paper's Tables 3 and 4): prompt generalisation (the gain on held-out prompts next to the gain on
/// training prompts) and reward generalisation (section 1's LoRAs and a TailorPO run on the normalised JPEG +
/// colourfulness ensemble, each evaluated with every reward of the panel), with reward-hacking verdicts.
/// </summary>
public static class GeneralisationSection
{
    /// <summary>Trains what is missing and writes the section.</summary>
    public static async Task<string> WriteAsync(ComparisonContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var rows = new List<(string Label, string Trained, IReadOnlyList<RunResult> Runs)>();
        foreach (var reward in MethodComparisonSection.Rewards)
            foreach (var method in MethodComparisonSection.Methods(reward))
                rows.Add(($"{method} on {reward}", reward,
                    await context.Runner.SeedsAsync(seed => MethodComparisonSection.Run(context, method, reward, seed), context.CancellationToken).ConfigureAwait(false)));
        rows.Add(("tailorpo on ensemble (normalised JPEG + colourfulness)", "ensemble",
            await context.Runner.SeedsAsync(seed => MethodComparisonSection.Run(context, "tailorpo", "ensemble", seed), context.CancellationToken).ConfigureAwait(false)));

        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("## 6. Generalisation (Tables 3 and 4)");
        md.AppendLine();
        md.AppendLine("### Reward generalisation and reward hacking");
        md.AppendLine();
        md.AppendLine("Change of each evaluated reward against the base model (held-out prompts), mean ± std over training seeds. The trained reward's column is the diagonal of Table 4.");
        md.AppendLine();
        md.AppendLine("| trained | " + string.Join(" | ", RewardPanel.Names.Select(n => $"Δ {n}")) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- |", RewardPanel.Names.Count)));
        md.AppendLine("| base model (value) | " + string.Join(" | ", RewardPanel.Names.Select(n => SeedStatistics.Of(context.BaseScores.HeldOut[n]).Format())) + " |");
        foreach (var (label, _, runs) in rows)
            md.AppendLine($"| {label} | " + string.Join(" | ", RewardPanel.Names.Select(n => Change(runs, n, context).Format())) + " |");
        md.AppendLine();

        var (path, link) = context.Image("sec6-reward-generalisation.png");
        var x = Enumerable.Range(0, RewardPanel.Names.Count).Select(i => (double)i).ToArray();
        ResultPlots.Lines(path, "Change of each evaluated reward vs the base model (held-out prompts)",
            "evaluated reward: " + string.Join(", ", RewardPanel.Names.Select((n, i) => $"{i} = {n}")), "change vs base (% of |base mean|)",
            rows.Where(r => r.Label.StartsWith("tailorpo", StringComparison.Ordinal) || r.Label.StartsWith("d3po", StringComparison.Ordinal)).Select(row => new ResultPlots.Series(row.Label, x,
                RewardPanel.Names.Select(n => 100 * Change(row.Runs, n, context).Mean / Math.Abs(context.BaseScores.HeldOutMean(n))).ToArray(),
                RewardPanel.Names.Select(n => 100 * Change(row.Runs, n, context).Std / Math.Abs(context.BaseScores.HeldOutMean(n))).ToArray())));
        md.AppendLine(c, $"![reward generalisation]({link})");
        md.AppendLine();
        md.AppendLine("Claims and checks:");
        md.AppendLine();
        var jpegTailor = rows.First(r => r.Label == "tailorpo on jpeg-compressibility").Runs;
        var ensemble = rows[^1].Runs;
        var zero = SeedStatistics.Of(jpegTailor.Select(_ => 0.0));
        var jpegColour = Change(jpegTailor, "colorfulness", context);
        md.AppendLine(c, $"- Does JPEG training hurt colourfulness? TailorPO on JPEG changes colourfulness by {jpegColour.Format()}: lowers it: " +
            $"{SeedStatistics.Compare(zero, jpegColour)}.");
        var ensembleColour = Change(ensemble, "colorfulness", context);
        md.AppendLine(c, $"- Does the normalised ensemble reduce that loss? Colourfulness change {ensembleColour.Format()} (ensemble) vs {jpegColour.Format()} (JPEG only): " +
            $"ensemble keeps more colourfulness: {SeedStatistics.Compare(ensembleColour, jpegColour)}; its JPEG gain {Change(ensemble, "jpeg-compressibility", context).Format()} " +
            $"vs {Change(jpegTailor, "jpeg-compressibility", context).Format()} with JPEG alone.");
        var colourTailor = rows.First(r => r.Label == "tailorpo on colorfulness").Runs;
        md.AppendLine(c, $"- Reward generalisation (Table 4: training on one reward raises related ones): TailorPO on colourfulness changes saturation by " +
            $"{Change(colourTailor, "saturation", context).Format()} (raises it: {SeedStatistics.Compare(Change(colourTailor, "saturation", context), zero)}) " +
            $"and JPEG compressibility by {Change(colourTailor, "jpeg-compressibility", context).Format()}.");
        md.AppendLine();

        md.AppendLine("### Prompt generalisation");
        md.AppendLine();
        md.AppendLine($"Gain of the trained reward on {context.Evaluator.TrainingPrompts.Count} training prompts and on the {context.Evaluator.HeldOutPrompts.Count} held-out prompts " +
            "(colour/shape/background combinations never seen in pre-training or alignment), mean ± std over training seeds.");
        md.AppendLine();
        md.AppendLine("| trained | gain on training prompts | gain on held-out prompts | held-out gain > 0 (Table 3) |");
        md.AppendLine("| --- | --- | --- | --- |");
        foreach (var (label, trained, runs) in rows.Where(r => r.Trained != "ensemble"))
        {
            var train = SeedStatistics.Of(runs.Select(r => r.Final.Scores.TrainingMean(trained) - context.BaseScores.TrainingMean(trained)));
            var held = Change(runs, trained, context);
            md.AppendLine(c, $"| {label} | {train.Format()} | {held.Format()} | {SeedStatistics.Compare(held, SeedStatistics.Of(runs.Select(_ => 0.0)))} |");
        }
        md.AppendLine();
        return ComparisonPage.EndSectionWithVerdicts(md, context, clock);
    }

    private static SeedStatistics Change(IEnumerable<RunResult> runs, string reward, ComparisonContext context) =>
        SeedStatistics.Of(runs.Select(r => r.Final.Scores.HeldOutMean(reward) - context.BaseScores.HeldOutMean(reward)));
}
