using ScottPlot;

namespace TailorPO.Reproduction.Rendering;

/// <summary>The results page's plots (ScottPlot PNGs): lines with seed-to-seed error bars.</summary>
public static class ResultPlots
{
    /// <summary>One line: x values, mean y values and their error bars (std; NaN draws none).</summary>
    public sealed record Series(string Label, double[] X, double[] Y, double[] Error);

    /// <summary>Draws the series into <paramref name="path"/>.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        foreach (var s in series)
        {
            var line = plot.Add.Scatter(s.X, s.Y);
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            if (s.Error.Any(double.IsFinite))
            {
                var bars = plot.Add.ErrorBar(s.X, s.Y, s.Error.Select(e => double.IsFinite(e) ? e : 0).ToArray());
                bars.Color = line.Color;
            }
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }
}
