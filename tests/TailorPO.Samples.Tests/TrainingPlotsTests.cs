using ScottPlot;
using SkiaSharp;
using TailorPO.Samples.Alignment;

namespace TailorPO.Samples.Tests;

/// <summary>
/// The run folder's plots, drawn from a real metrics.csv (TestData/metrics-tailorpo.csv: align --budget 40 --batch 2
/// --steps 10 on the embedded model): each file is written, decodes, and shows every series it promises where it
/// promises it, in the series' own colour.
/// </summary>
public sealed class TrainingPlotsTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "TestData", "metrics-tailorpo.csv");

    [Fact]
    public void The_signals_figure_draws_margin_accuracy_reward_gap_and_loss_each_in_its_own_panel()
    {
        using var folder = new TemporaryFolder();
        var rows = TrainingPlots.Read(Fixture);
        Assert.Equal(File.ReadAllLines(Fixture).Length - 1, rows.Count);
        Assert.Contains(rows, r => r.Margin != 0 && double.IsFinite(r.Margin));
        var path = folder.Combine(TrainingPlots.SignalsFile);

        TrainingPlots.TrainingSignals(rows, path);

        using var image = SKBitmap.Decode(path);
        Assert.Equal((1200, 800), (image.Width, image.Height));
        // Panels in a 2x2 grid, in SignalPanels order; each draws its moving mean in its own colour.
        Color[] lines = [Colors.C0, Colors.C2, Colors.C3, Colors.C1];
        for (var panel = 0; panel < lines.Length; panel++)
        {
            var (left, top) = (panel % 2 * image.Width / 2, panel / 2 * image.Height / 2);
            for (var other = 0; other < lines.Length; other++)
            {
                var count = CountPixels(image, left, top, image.Width / 2, image.Height / 2, lines[other]);
                if (other == panel) Assert.True(count > 150, $"panel {TrainingPlots.SignalPanels[panel]} has {count} pixels of its line colour");
                else Assert.True(count == 0, $"panel {TrainingPlots.SignalPanels[panel]} has {count} pixels of panel {TrainingPlots.SignalPanels[other]}'s colour");
            }
        }
        var figure = TrainingPlots.SignalsFigure(rows).GetPlots();
        Assert.Equal(TrainingPlots.SignalPanels.Count, figure.Length);
        Assert.All(figure.Zip(TrainingPlots.SignalPanels), p => Assert.StartsWith(p.Second, p.First.Axes.Title.Label.Text, StringComparison.Ordinal));
    }

    [Fact]
    public void The_reward_curve_draws_the_preferred_and_the_dispreferred_reward()
    {
        using var folder = new TemporaryFolder();
        var path = folder.Combine(TrainingPlots.RewardCurveFile);

        TrainingPlots.RewardCurve(TrainingPlots.Read(Fixture), "jpeg-compressibility", path);

        using var image = SKBitmap.Decode(path);
        Assert.Equal((900, 500), (image.Width, image.Height));
        foreach (var line in new[] { Colors.C0, Colors.C1 })
            Assert.True(CountPixels(image, 0, 0, image.Width, image.Height, line) > 150, $"no line of colour {line}");
    }

    [Fact]
    public void A_method_without_pairwise_margins_and_an_older_file_without_the_margin_column_still_plot()
    {
        using var folder = new TemporaryFolder();
        var lines = File.ReadAllLines(Fixture);
        var header = lines[0].Split(',');
        var margin = Array.IndexOf(header, "log_ratio_margin");
        // An older metrics.csv: no margin column. Its rows read the margin as NaN and the panel says it is not logged.
        var older = folder.Combine("older.csv");
        File.WriteAllLines(older, lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != margin))));
        var rows = TrainingPlots.Read(older);
        Assert.All(rows, r => Assert.True(double.IsNaN(r.Margin)));
        var path = folder.Combine("older.png");

        TrainingPlots.TrainingSignals(rows, path);

        using var image = SKBitmap.Decode(path);
        Assert.Equal(0, CountPixels(image, 0, 0, image.Width / 2, image.Height / 2, Colors.C0));
        Assert.True(CountPixels(image, image.Width / 2, 0, image.Width / 2, image.Height / 2, Colors.C2) > 150);
    }

    /// <summary>Pixels of exactly <paramref name="color"/> (a line's core; anti-aliased edges and translucent bands differ).</summary>
    [Fact]
    public void The_proxy_vs_gold_plot_draws_both_curves_the_best_reading_and_the_early_stop()
    {
        using var folder = new TemporaryFolder();
        var csv = folder.Combine("gold-metric.csv");
        File.WriteAllLines(csv,
        [
            "images,iteration,proxy,proxy_se,gold,gold_se,best_gold,best_images,streak,log_ratio_margin,log_ratio_drift,event",
            "0,0,1.0,0.1,0.30,0.05,0.30,0,0,NaN,NaN,baseline",
            "60,30,1.2,0.1,0.45,0.05,0.45,60,0,0.1,0.2,new-best",
            "120,60,1.5,0.1,0.35,0.05,0.45,60,1,0.2,0.3,diverging",
            "180,90,1.9,0.1,0.25,0.05,0.45,60,2,0.3,0.4,stopped",
            "180,90,1.2,0.1,0.45,0.05,0.45,60,2,0.3,0.4,restored-best",
        ]);
        var rows = TrainingPlots.ReadGoldMetric(csv);
        Assert.Equal(5, rows.Count);
        Assert.Equal(("stopped", 0.25), (rows[3].Event, rows[3].Gold));
        var path = folder.Combine(TrainingPlots.ProxyVsGoldFile);

        TrainingPlots.ProxyVsGold(rows, "jpeg-compressibility", path);

        using var image = SKBitmap.Decode(path);
        Assert.Equal((900, 500), (image.Width, image.Height));
        foreach (var (color, what) in new[] { (Colors.C0, "proxy"), (Colors.C1, "gold"), (Colors.C2, "best marker"), (Colors.C3, "early-stop line") })
            Assert.True(CountPixels(image, 0, 0, image.Width, image.Height, color) > 20, $"the {what} is not drawn");
    }

    private static int CountPixels(SKBitmap image, int left, int top, int width, int height, Color color)
    {
        var count = 0;
        for (var y = top; y < top + height; y++)
            for (var x = left; x < left + width; x++)
            {
                var p = image.GetPixel(x, y);
                if (p.Red == color.R && p.Green == color.G && p.Blue == color.B) count++;
            }
        return count;
    }
}
