using System.Globalization;
using ScottPlot;

namespace TailorPO.Samples.Alignment;

/// <summary>The run folder's plots (ScottPlot PNGs) drawn from its metrics.csv.</summary>
public static class TrainingPlots
{
    /// <summary>One metrics row as the plots need it.</summary>
    public sealed record Row(long Samples, double Loss, double Accuracy, double Preferred, double Dispreferred);

    /// <summary>Reads metrics.csv (the trainer's CsvMetricsSink).</summary>
    public static IReadOnlyList<Row> Read(string csvPath)
    {
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length < 2) return [];
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"{csvPath} has no '{name}' column.");
        var (samples, loss, accuracy, preferred, dispreferred) = (Column("samples"), Column("loss"), Column("implicit_accuracy"), Column("preferred_reward"), Column("dispreferred_reward"));
        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(f => new Row(long.Parse(f[samples], CultureInfo.InvariantCulture), D(f[loss]), D(f[accuracy]), D(f[preferred]), D(f[dispreferred])))
            .ToList();
    }

    /// <summary>The reward curve: preferred and dis-preferred reward of each update against samples, with moving averages.</summary>
    public static void RewardCurve(IReadOnlyList<Row> rows, string rewardName, string path)
    {
        var plot = new Plot();
        var x = rows.Select(r => (double)r.Samples).ToArray();
        AddSeries(plot, x, rows.Select(r => r.Preferred).ToArray(), "preferred");
        AddSeries(plot, x, rows.Select(r => r.Dispreferred).ToArray(), "dis-preferred");
        plot.Title($"Training reward ({rewardName})");
        plot.XLabel("generated images");
        plot.YLabel("reward (step reward for TailorPO)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }

    /// <summary>Loss and implicit accuracy per update (moving averages).</summary>
    public static void LossAndAccuracy(IReadOnlyList<Row> rows, string path)
    {
        var plot = new Plot();
        var x = rows.Select(r => (double)r.Samples).ToArray();
        AddSeries(plot, x, rows.Select(r => r.Loss).ToArray(), "loss");
        AddSeries(plot, x, rows.Select(r => r.Accuracy).ToArray(), "implicit accuracy");
        plot.Title("Loss and implicit accuracy");
        plot.XLabel("generated images");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }

    private static void AddSeries(Plot plot, double[] x, double[] y, string label)
    {
        var finite = Enumerable.Range(0, y.Length).Where(i => double.IsFinite(y[i])).ToArray();
        if (finite.Length == 0) return;
        var xs = finite.Select(i => x[i]).ToArray();
        var ys = finite.Select(i => y[i]).ToArray();
        var raw = plot.Add.ScatterPoints(xs, ys);
        raw.MarkerSize = 2;
        var window = Math.Max(1, ys.Length / 20);
        var smooth = plot.Add.ScatterLine(xs, MovingAverage(ys, window));
        smooth.Color = raw.Color;
        smooth.LineWidth = 2;
        smooth.LegendText = $"{label} (moving average of {window})";
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
