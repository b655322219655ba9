using System.Globalization;
using System.Text;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 6 (the paper's Tables 3 and 4): prompt generalisation (the gain on held-out prompts next to the gain on
/// training prompts) and reward generalisation (section 1's LoRAs and a TailorPO run on the normalised JPEG +
/// colourfulness ensemble, each evaluated with every reward of the panel), with reward-hacking checks. Every run is read
/// at the image budget (a property of one method, so no budget matching is involved).
/// </summary>
public sealed class GeneralisationSection : ReproductionSection<GeneralisationSection.Measured, GeneralisationSection.Analysis>
{
    /// <inheritdoc />
    public override string Title => "## 6. Generalisation (Tables 3 and 4)";

    /// <summary>One row: a method trained on a reward.</summary>
    public sealed record Row(string Label, string Trained, MethodRuns Runs);

    /// <summary>Every row.</summary>
    public sealed record Measured(IReadOnlyList<Row> Rows) : SectionMeasurements;

    /// <summary>The measurements and the claims.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var rows = new List<Row>();
        foreach (var reward in MethodComparisonSection.Rewards)
            foreach (var method in MethodComparisonSection.Methods(reward))
                rows.Add(new Row($"{method} on {reward}", reward, await context.Runs.GetAsync(method, reward, context.CancellationToken).ConfigureAwait(false)));
        rows.Add(new Row("tailorpo on ensemble (normalised JPEG + colourfulness)", "ensemble",
            await context.Runs.GetAsync("tailorpo", "ensemble", context.CancellationToken).ConfigureAwait(false)));
        return new Measured(rows);
    }

    private static List<double> Change(ReproductionContext context, Row row, string reward) =>
        row.Runs.AtImages(context.Sizing).Select(st => st.Scores.HeldOutMean(reward) - context.BaseScores.HeldOutMean(reward)).ToList();

    private static List<double> TrainingChange(ReproductionContext context, Row row, string reward) =>
        row.Runs.AtImages(context.Sizing).Select(st => st.Scores.TrainingMean(reward) - context.BaseScores.TrainingMean(reward)).ToList();

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var rows = measurements.Rows;
        var jpegTailor = rows.First(r => r.Label == "tailorpo on jpeg-compressibility");
        var colourTailor = rows.First(r => r.Label == "tailorpo on colorfulness");
        var ensemble = rows[^1];
        return new Analysis(measurements,
        [
            Claim.Below("TailorPO trained on JPEG compressibility lowers colourfulness (reward hacking, Table 4)", Change(context, jpegTailor, "colorfulness"), 0),
            Claim.Greater("the normalised ensemble keeps more colourfulness than JPEG alone", Change(context, ensemble, "colorfulness"), Change(context, jpegTailor, "colorfulness")),
            Claim.Above("TailorPO trained on colourfulness raises saturation (reward generalisation, Table 4)", Change(context, colourTailor, "saturation"), 0),
            Claim.Above("TailorPO on JPEG compressibility: held-out gain > 0 (prompt generalisation, Table 3)", Change(context, jpegTailor, "jpeg-compressibility"), 0),
            Claim.Above("TailorPO on colourfulness: held-out gain > 0 (prompt generalisation, Table 3)", Change(context, colourTailor, "colorfulness"), 0),
        ]);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var rows = analysis.Measured.Rows;
        var names = RewardPanel.Names;
        var c = CultureInfo.InvariantCulture;
        md.AppendLine("### Reward generalisation and reward hacking");
        md.AppendLine();
        md.AppendLine(c, $"Change of each evaluated reward against the base model (held-out prompts) at {context.Sizing.Budget} images, mean ± std over training seeds. The trained reward's column is the diagonal of Table 4.");
        md.AppendLine();
        md.AppendLine("| trained | lr | " + string.Join(" | ", names.Select(n => $"Δ {n}")) + " |");
        md.AppendLine("| --- | --- |" + string.Concat(Enumerable.Repeat(" --- |", names.Count)));
        md.AppendLine("| base model (value) | - | " + string.Join(" | ", names.Select(n => SeedStatistics.Of(context.BaseScores.HeldOut[n]).Format())) + " |");
        foreach (var row in rows)
            md.AppendLine(c, $"| {row.Label} | {row.Runs.LearningRate:0.####} | {string.Join(" | ", names.Select(n => SeedStatistics.Of(Change(context, row, n)).Format()))} |");
        md.AppendLine();

        var (path, link) = context.Image("sec6-reward-generalisation.png");
        var x = Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray();
        ResultPlots.Lines(path, "Change of each evaluated reward vs the base model (held-out prompts)",
            "evaluated reward: " + string.Join(", ", names.Select((n, i) => $"{i} = {n}")), "change vs base (% of |base mean|)",
            rows.Where(r => r.Label.StartsWith("tailorpo", StringComparison.Ordinal) || r.Label.StartsWith("d3po", StringComparison.Ordinal)).Select(row => new ResultPlots.Series(row.Label, x,
                names.Select(n => 100 * SeedStatistics.Of(Change(context, row, n)).Mean / Math.Abs(context.BaseScores.HeldOutMean(n))).ToArray(),
                names.Select(n => 100 * SeedStatistics.Of(Change(context, row, n)).Std / Math.Abs(context.BaseScores.HeldOutMean(n))).ToArray())));
        md.AppendLine(c, $"![reward generalisation]({link})");
        md.AppendLine();

        md.AppendLine("### Prompt generalisation");
        md.AppendLine();
        md.AppendLine($"Gain of the trained reward on {context.Evaluator.TrainingPrompts.Count} training prompts and on the {context.Evaluator.HeldOutPrompts.Count} held-out prompts " +
            "(colour/shape/background combinations never seen in pre-training or alignment), mean ± std over training seeds.");
        md.AppendLine();
        md.AppendLine("| trained | gain on training prompts | gain on held-out prompts |");
        md.AppendLine("| --- | --- | --- |");
        foreach (var row in rows.Where(r => r.Trained != "ensemble"))
            md.AppendLine(c, $"| {row.Label} | {SeedStatistics.Of(TrainingChange(context, row, row.Trained)).Format()} | {SeedStatistics.Of(Change(context, row, row.Trained)).Format()} |");
        md.AppendLine();
        md.AppendLine("Claims and checks:");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        ReproductionPage.EndSectionWithVerdicts(md, context, Title);
    }
}
