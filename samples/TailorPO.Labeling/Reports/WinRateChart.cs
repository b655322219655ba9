using ScottPlot;

namespace TailorPO.Labeling.Reports;

/// <summary>The win-rate bar chart: one bar per prompt and one overall, Wilson 95% whiskers, the 50% line of no preference.</summary>
internal static class WinRateChart
{
    /// <summary>Writes the PNG.</summary>
    public static void Save(WinRateReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = report.Prompts.Append(report.Overall).ToList();
        var plot = new Plot();
        var positions = Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray();
        var values = rows.Select(r => double.IsNaN(r.WinRate) ? 0 : r.WinRate).ToArray();
        var bars = plot.Add.Bars(positions, values);
        for (var i = 0; i < rows.Count; i++)
            bars.Bars[i].FillColor = rows[i].Prompt is null ? Colors.DarkOrange : Colors.SteelBlue;
        var lower = rows.Select((r, i) => double.IsNaN(r.WinRate) ? 0 : values[i] - r.Interval.Lower).ToArray();
        var upper = rows.Select((r, i) => double.IsNaN(r.WinRate) ? 0 : r.Interval.Upper - values[i]).ToArray();
        var whiskers = new ScottPlot.Plottables.ErrorBar(positions, values, null, null, upper, lower); // ScottPlot: positive then negative
        whiskers.Color = Colors.Black;
        plot.Add.Plottable(whiskers);
        var half = plot.Add.HorizontalLine(0.5);
        half.LinePattern = LinePattern.Dashed;
        half.Color = Colors.Gray;
        var labels = rows.Select(r => r.Prompt is null ? "overall" : Shorten(r.Prompt)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels);

        plot.Title($"Win rate of B ({report.SourceB}) over A ({report.SourceA})");
        plot.YLabel("win rate of B (ties excluded), Wilson 95%");
        plot.Axes.SetLimitsY(0, 1.05);
        plot.SavePng(path, 900, 600);
    }

    private static string Shorten(string text) => text.Length <= 28 ? text : text[..27] + "\u2026";
}
