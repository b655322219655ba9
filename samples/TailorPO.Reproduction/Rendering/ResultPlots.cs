using ScottPlot;

namespace TailorPO.Reproduction.Rendering;

/// <summary>The results page's plots (ScottPlot PNGs): lines or grouped bars with seed-to-seed error bars, the legend beside the data.</summary>
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
        // Outside the axes: inside, it covered the curves' last points.
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1000, 500);
    }

    /// <summary>One group member of <see cref="GroupedBars"/>: a value and an error bar (std; NaN draws none) per category.</summary>
    public sealed record BarSeries(string Label, double[] Values, double[] Error);

    /// <summary>Draws one group of bars per category (e.g. per graded attribute), one bar per series, into <paramref name="path"/>.</summary>
    public static void GroupedBars(string path, string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        const double groupWidth = 0.8;
        var barWidth = groupWidth / series.Count;
        var palette = new ScottPlot.Palettes.Category10();
        for (var m = 0; m < series.Count; m++)
        {
            var s = series[m];
            var positions = categories.Select((_, c) => c - groupWidth / 2 + barWidth * (m + 0.5)).ToArray();
            var bars = plot.Add.Bars(positions, s.Values);
            var color = palette.GetColor(m);
            foreach (var bar in bars.Bars) (bar.FillColor, bar.Size) = (color, barWidth * 0.95);
            bars.LegendText = s.Label;
            if (s.Error.Any(double.IsFinite))
            {
                var errors = s.Error.Select(e => double.IsFinite(e) ? e : 0).ToArray();
                plot.Add.Plottable(new ScottPlot.Plottables.ErrorBar(positions, s.Values, null, null, errors, errors) { Color = Colors.Black });
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(categories.Select((_, c) => (double)c).ToArray(), categories.ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1000, 500);
    }
}
