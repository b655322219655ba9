using System.Globalization;
using ScottPlot;

namespace TailorPO.Samples.Alignment;

/// <summary>The run folder's plots (ScottPlot PNGs) drawn from its metrics.csv.</summary>
public static class TrainingPlots
{
    /// <summary>The file of <see cref="TrainingSignals"/> in a run folder.</summary>
    public const string SignalsFile = "training-signals.png";

    /// <summary>The file of <see cref="RewardCurve"/> in a run folder.</summary>
    public const string RewardCurveFile = "reward-curve.png";

    /// <summary>The file of <see cref="ProxyVsGold"/> in a run folder.</summary>
    public const string ProxyVsGoldFile = "proxy-vs-gold.png";

    /// <summary>The panels of <see cref="TrainingSignals"/>, in order (left to right, top to bottom).</summary>
    public static readonly IReadOnlyList<string> SignalPanels =
        ["Implicit-reward margin", "Implicit accuracy", "Step-reward gap", "Loss - ln 2"];

    /// <summary>One metrics row as the plots need it.</summary>
    /// <param name="Update">The update index (one loss and backward pass).</param>
    /// <param name="Samples">Final images generated before the update's iteration ended.</param>
    /// <param name="Loss">The loss.</param>
    /// <param name="Accuracy">The implicit accuracy (fraction of decided pairs with h_w &gt; h_l).</param>
    /// <param name="Preferred">Mean reward of the preferred samples.</param>
    /// <param name="Dispreferred">Mean reward of the dis-preferred samples.</param>
    /// <param name="RewardGap">Mean r_w - r_l (the step-reward gap for TailorPO).</param>
    /// <param name="Margin">Mean h_w - h_l (the implicit-reward margin over beta); NaN when not logged.</param>
    public sealed record Row(long Update, long Samples, double Loss, double Accuracy, double Preferred, double Dispreferred, double RewardGap, double Margin);

    /// <summary>Reads metrics.csv (the trainer's CsvMetricsSink; a file without the margin column reads it as NaN).</summary>
    /// <exception cref="InvalidDataException">A required column is missing.</exception>
    public static IReadOnlyList<Row> Read(string csvPath)
    {
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length < 2) return [];
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"{csvPath} has no '{name}' column.");
        var (update, samples, loss, accuracy) = (Column("update"), Column("samples"), Column("loss"), Column("implicit_accuracy"));
        var (preferred, dispreferred, gap) = (Column("preferred_reward"), Column("dispreferred_reward"), Column("reward_gap"));
        var margin = Array.IndexOf(header, "log_ratio_margin");
        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(f => new Row(L(f[update]), L(f[samples]), D(f[loss]), D(f[accuracy]), D(f[preferred]), D(f[dispreferred]), D(f[gap]),
                margin >= 0 ? D(f[margin]) : double.NaN))
            .ToList();
    }

    /// <summary>One row of gold-metric.csv (the trainer's CsvGoldMetricSink) as the plot needs it.</summary>
    /// <param name="Images">Images when read.</param>
    /// <param name="Proxy">The training reward's held-out mean.</param>
    /// <param name="Gold">The gold value.</param>
    /// <param name="GoldStandardError">Its standard error (NaN when unknown).</param>
    /// <param name="Event">The row's event (baseline, evaluated, new-best, diverging, stopped, restored-best).</param>
    public sealed record GoldRow(long Images, double Proxy, double Gold, double GoldStandardError, string Event);

    /// <summary>Reads gold-metric.csv.</summary>
    /// <exception cref="InvalidDataException">A required column is missing.</exception>
    public static IReadOnlyList<GoldRow> ReadGoldMetric(string csvPath)
    {
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length < 2) return [];
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"{csvPath} has no '{name}' column.");
        var (images, proxy, gold, se, kind) = (Column("images"), Column("proxy"), Column("gold"), Column("gold_se"), Column("event"));
        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(f => new GoldRow(long.Parse(f[images], CultureInfo.InvariantCulture), D(f[proxy]), D(f[gold]), D(f[se]), f[kind]))
            .ToList();
    }

    /// <summary>
    /// The reward-hacking guard's curve: the proxy (the training reward on the held-out images, left axis) and the gold
    /// value (right axis, with ±1 s.e. bars) against images, the best reading marked by a green dot and an early stop marked by a line.
    /// </summary>
    public static void ProxyVsGold(IReadOnlyList<GoldRow> rows, string rewardName, string path)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var readings = rows.Where(r => r.Event != "restored-best").ToList();
        var plot = new Plot();
        if (readings.Count == 0)
        {
            plot.Add.Annotation("no gold-metric reading");
            plot.SavePng(path, 900, 500);
            return;
        }
        var x = readings.Select(r => (double)r.Images).ToArray();
        var proxy = plot.Add.Scatter(x, readings.Select(r => r.Proxy).ToArray());
        proxy.Color = Colors.C0;
        proxy.LineWidth = 2;
        proxy.LegendText = $"proxy: {rewardName} (left axis)";
        var goldValues = readings.Select(r => r.Gold).ToArray();
        var gold = plot.Add.Scatter(x, goldValues);
        gold.Color = Colors.C1;
        gold.LineWidth = 2;
        gold.LegendText = "gold: all four attributes right (right axis, ±1 s.e.)";
        gold.Axes.YAxis = plot.Axes.Right;
        var errors = readings.Select(r => double.IsFinite(r.GoldStandardError) ? r.GoldStandardError : 0).ToArray();
        var bars = plot.Add.ErrorBar(x, goldValues, errors);
        bars.Color = Colors.C1;
        bars.Axes.YAxis = plot.Axes.Right;
        var best = readings.Where(r => r.Event is "baseline" or "new-best").MaxBy(r => r.Gold)!;
        var marker = plot.Add.Marker(best.Images, best.Gold, MarkerShape.FilledCircle, 12, Colors.C2);
        marker.Axes.YAxis = plot.Axes.Right;
        marker.LegendText = $"best gold ({best.Images} images)";
        if (readings.FirstOrDefault(r => r.Event == "stopped") is { } stop)
        {
            var line = plot.Add.VerticalLine(stop.Images, 2, Colors.C3, LinePattern.Dashed);
            line.LegendText = $"early stop ({stop.Images} images)";
        }
        plot.Title("Reward-hacking guard: proxy vs gold on held-out captions");
        plot.XLabel("generated images");
        plot.YLabel("proxy (training reward)");
        plot.Axes.Right.Label.Text = "gold (fraction right)";
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }

    /// <summary>The moving window of the plots: a tenth of the updates, at least 5 (or all of a shorter run).</summary>
    public static int Window(int updates) => Math.Max(1, Math.Min(updates, Math.Max(5, updates / 10)));

    /// <summary>The reward curve: preferred and dis-preferred reward of each update against samples, with moving averages.</summary>
    public static void RewardCurve(IReadOnlyList<Row> rows, string rewardName, string path)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var plot = new Plot();
        var x = rows.Select(r => (double)r.Samples).ToArray();
        var window = Window(rows.Count);
        AddMovingMean(plot, x, rows.Select(r => r.Preferred).ToArray(), window, $"preferred (mean of the last {window} updates)", Colors.C0, band: false, legend: true);
        AddMovingMean(plot, x, rows.Select(r => r.Dispreferred).ToArray(), window, $"dis-preferred (mean of the last {window} updates)", Colors.C1, band: false, legend: true);
        plot.Title($"Training reward ({rewardName})");
        plot.XLabel("generated images");
        plot.YLabel("reward (step reward for TailorPO)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }

    /// <summary>
    /// What moves while a run learns, in four panels over the updates: the implicit-reward margin h_w - h_l (mean and a
    /// band of one standard deviation over the moving window), the moving implicit accuracy against chance (0.5), the
    /// reward gap r_w - r_l between the preferred and the dis-preferred sample, and the loss minus ln 2 on its own scale
    /// (the loss stays within beta * margin / 2 of ln 2 while the margin is small, so on a common axis it looks flat).
    /// </summary>
    public static void TrainingSignals(IReadOnlyList<Row> rows, string path) => SignalsFigure(rows).SavePng(path, 1200, 800);

    /// <summary>The figure of <see cref="TrainingSignals"/>: one ScottPlot plot per <see cref="SignalPanels"/> entry.</summary>
    public static Multiplot SignalsFigure(IReadOnlyList<Row> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var x = rows.Select(r => (double)r.Update).ToArray();
        var window = Window(rows.Count);
        var last = $"line: mean of the last {window} updates";
        var multiplot = new Multiplot();
        multiplot.AddPlots(SignalPanels.Count);
        var panels = multiplot.GetPlots();
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);
        multiplot.SharedAxes.ShareX(panels);

        var margin = panels[0];
        AddMovingMean(margin, x, rows.Select(r => r.Margin).ToArray(), window, "h_w - h_l", Colors.C0, band: true, points: false);
        margin.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dashed);
        Label(margin, $"{SignalPanels[0]} ({last}, band ±1 s.d.)", "h_w - h_l  (margin / beta)");

        var accuracy = panels[1];
        AddMovingMean(accuracy, x, rows.Select(r => r.Accuracy).ToArray(), window, "implicit accuracy", Colors.C2, band: false, points: false);
        accuracy.Add.HorizontalLine(0.5, 1, Colors.Gray, LinePattern.Dashed);
        accuracy.Axes.SetLimitsY(-0.05, 1.05);
        Label(accuracy, $"{SignalPanels[1]} ({last}; 0.5 = chance)", "fraction of pairs with h_w > h_l");

        var gap = panels[2];
        AddMovingMean(gap, x, rows.Select(r => r.RewardGap).ToArray(), window, "r_w - r_l", Colors.C3, band: true, points: false);
        Label(gap, $"{SignalPanels[2]} ({last}, band ±1 s.d.)", "r_w - r_l  (preferred - dis-preferred)");

        var loss = panels[3];
        AddMovingMean(loss, x, rows.Select(r => r.Loss - Math.Log(2)).ToArray(), window, "loss - ln 2", Colors.C1, band: true, points: false);
        loss.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dashed);
        Label(loss, $"{SignalPanels[3]} ({last}, band ±1 s.d.)", "loss - ln 2  (~ -beta (h_w - h_l) / 2)");
        return multiplot;
    }

    private static void Label(Plot plot, string title, string yLabel)
    {
        plot.Title(title, size: 13);
        plot.XLabel("update", size: 12);
        plot.YLabel(yLabel, size: 12);
    }

    /// <summary>
    /// The finite values' moving mean as a line, optionally with a ±1 s.d. band around it and the values as faint points;
    /// <paramref name="legend"/> labels the line in a legend.
    /// </summary>
    private static void AddMovingMean(Plot plot, double[] x, double[] y, int window, string label, Color color, bool band, bool points = true, bool legend = false)
    {
        var finite = Enumerable.Range(0, y.Length).Where(i => double.IsFinite(y[i])).ToArray();
        if (finite.Length == 0)
        {
            plot.Add.Annotation($"{label}: not logged by this method");
            return;
        }
        var xs = finite.Select(i => x[i]).ToArray();
        var ys = finite.Select(i => y[i]).ToArray();
        var (mean, deviation) = MovingMeanAndDeviation(ys, window);
        if (band)
        {
            var fill = plot.Add.FillY(xs, mean.Zip(deviation, (m, d) => m - d).ToArray(), mean.Zip(deviation, (m, d) => m + d).ToArray());
            fill.FillColor = color.WithAlpha(0.2);
            fill.LineWidth = 0;
        }
        if (points)
        {
            var raw = plot.Add.ScatterPoints(xs, ys);
            raw.Color = color.WithAlpha(0.35);
            raw.MarkerSize = 3;
        }
        var line = plot.Add.ScatterLine(xs, mean);
        line.Color = color;
        line.LineWidth = 2;
        if (legend) line.LegendText = label;
    }

    /// <summary>The mean and the (population) standard deviation of the last <paramref name="window"/> values at each index.</summary>
    public static (double[] Mean, double[] Deviation) MovingMeanAndDeviation(IReadOnlyList<double> values, int window)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var mean = new double[values.Count];
        var deviation = new double[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            var from = Math.Max(0, i - window + 1);
            var count = i - from + 1;
            double sum = 0;
            for (var j = from; j <= i; j++) sum += values[j];
            mean[i] = sum / count;
            double squares = 0;
            for (var j = from; j <= i; j++) squares += (values[j] - mean[i]) * (values[j] - mean[i]);
            deviation[i] = Math.Sqrt(squares / count);
        }
        return (mean, deviation);
    }
}
