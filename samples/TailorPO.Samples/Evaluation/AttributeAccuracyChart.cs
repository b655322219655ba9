using TailorPO.Shapes.Evaluation;
using ScottPlot;

namespace TailorPO.Samples.Evaluation;

/// <summary>The grade as a bar chart: per-attribute accuracy of the base and the aligned model side by side, one standard error whiskers.</summary>
public static class AttributeAccuracyChart
{
    /// <summary>The chart's file name in a run folder.</summary>
    public const string FileName = "attribute-accuracy.png";

    /// <summary>Writes the PNG.</summary>
    public static void Save(AttributeGradeReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var models = new List<(string Name, ModelGrade Grade, Color Color)> { ("base", report.Base, Colors.Gray) };
        if (report.Aligned is { } aligned) models.Add(("aligned", aligned, Colors.SteelBlue));
        var plot = new Plot();
        var attributes = GradedAttribute.All;
        const double groupWidth = 0.8;
        var barWidth = groupWidth / models.Count;
        for (var m = 0; m < models.Count; m++)
        {
            var (name, grade, color) = models[m];
            var positions = attributes.Select((_, a) => a - groupWidth / 2 + barWidth * (m + 0.5)).ToArray();
            var estimates = attributes.Select(grade.Accuracy).ToArray();
            var values = estimates.Select(e => e.Mean * 100).ToArray();
            var bars = plot.Add.Bars(positions, values);
            foreach (var bar in bars.Bars) (bar.FillColor, bar.Size) = (color, barWidth * 0.95);
            bars.LegendText = name;
            var errors = estimates.Select(e => double.IsNaN(e.StandardError) ? 0 : e.StandardError * 100).ToArray();
            var whiskers = new ScottPlot.Plottables.ErrorBar(positions, values, null, null, errors, errors) { Color = Colors.Black };
            plot.Add.Plottable(whiskers);
        }
        var ticks = attributes.Select((_, a) => (double)a).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, attributes.Select(a => a.Name).ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("images right (%), +- 1 s.e.");
        plot.Title($"Held-out accuracy by SceneMeasurer ({report.Options.Captions} captions x {report.Options.SeedsPerCaption} seeds)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 900, 500);
    }
}
