using System.Globalization;
using System.Text;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Reports;

/// <summary>One row of the report: the votes of one prompt (or all prompts) on model-vs-model pairs.</summary>
/// <param name="Prompt">The prompt, or null for the overall row.</param>
/// <param name="BWins">Votes preferring model B.</param>
/// <param name="AWins">Votes preferring model A.</param>
/// <param name="Ties">Tie votes (reported apart: they are not counted in the win rate).</param>
internal sealed record WinRateRow(string? Prompt, int BWins, int AWins, int Ties)
{
    /// <summary>Votes that chose a side.</summary>
    public int Decisive => BWins + AWins;

    /// <summary>B's wins among the decisive votes; NaN without any.</summary>
    public double WinRate => Decisive == 0 ? double.NaN : (double)BWins / Decisive;

    /// <summary>The Wilson 95% interval of <see cref="WinRate"/>.</summary>
    public (double Lower, double Upper) Interval => WilsonInterval.Compute(BWins, Decisive);

    /// <summary>Ties among all comparing votes; NaN without any.</summary>
    public double TieRate => Decisive + Ties == 0 ? double.NaN : (double)Ties / (Decisive + Ties);
}

/// <summary>
/// The blind win-rate report over model-vs-model pairs (the analogue of the paper's human evaluation): per prompt and
/// overall, B's win rate over A among votes that chose a side with its Wilson 95% interval, ties apart; Fleiss' kappa
/// over the pairs with at least two comparing votes, categories A, B and tie. Skips are left out everywhere.
/// </summary>
internal sealed record WinRateReport(string SourceA, string SourceB, IReadOnlyList<WinRateRow> Prompts, WinRateRow Overall, double Kappa, int Pairs)
{
    /// <summary>Builds the report from the database's tallies.</summary>
    /// <exception cref="LabelingException">The database holds no model-vs-model pair.</exception>
    public static WinRateReport From(IReadOnlyList<PairTally> tallies)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        var model = tallies.Where(t => t.Kind == PairKinds.Model).ToList();
        if (model.Count == 0)
            throw new LabelingException("The database holds no model-vs-model pair: generate them with --lora <file> (base against base + LoRA) before asking for a win rate.");
        var prompts = model.GroupBy(t => t.Prompt, StringComparer.Ordinal)
            .Select(g => new WinRateRow(g.Key, g.Sum(t => t.B), g.Sum(t => t.A), g.Sum(t => t.Tie)))
            .ToList();
        var overall = new WinRateRow(null, prompts.Sum(r => r.BWins), prompts.Sum(r => r.AWins), prompts.Sum(r => r.Ties));
        var kappa = FleissKappa.Compute(model.Select(t => new[] { t.A, t.B, t.Tie }).ToList());
        return new WinRateReport(model[0].SourceA, model[0].SourceB, prompts, overall, kappa, model.Count);
    }

    /// <summary>The report as a Markdown table.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# Blind win rate: B = {SourceB} over A = {SourceA}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{Pairs} model-vs-model pairs. Win rate = B's wins / (B's wins + A's wins); ties apart; skips left out.");
        text.AppendLine();
        text.AppendLine("| prompt | B wins | A wins | ties | win rate of B | Wilson 95% | tie share |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
        foreach (var row in Prompts.Append(Overall)) text.AppendLine(Line(row));
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Fleiss' kappa (categories A, B, tie; pairs with 2+ comparing votes): {Number(Kappa)}");
        return text.ToString();
    }

    private static string Line(WinRateRow row)
    {
        var (lower, upper) = row.Interval;
        var name = row.Prompt is null ? "**overall**" : row.Prompt.Replace("|", "\\|", StringComparison.Ordinal);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {row.BWins} | {row.AWins} | {row.Ties} | {Number(row.WinRate)} | [{Number(lower)}, {Number(upper)}] | {Number(row.TieRate)} |");
    }

    private static string Number(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.000", CultureInfo.InvariantCulture);
}
