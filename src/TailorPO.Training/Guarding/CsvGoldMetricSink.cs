using System.Globalization;
using System.Text;
using TailorPO.Core.IO;

namespace TailorPO.Training.Guarding;

/// <summary>
/// Writes the guard's history as CSV (invariant culture, header first), rewriting the whole file atomically each time,
/// so after a resume it holds exactly the resumed run's rows.
/// </summary>
public sealed class CsvGoldMetricSink : IGoldMetricSink
{
    /// <summary>The conventional file name, <c>gold-metric.csv</c>.</summary>
    public const string DefaultFileName = "gold-metric.csv";

    /// <summary>The column names, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "images", "iteration", "proxy", "proxy_se", "gold", "gold_se", "best_gold", "best_images", "streak",
        "log_ratio_margin", "log_ratio_drift", "event",
    ];

    /// <summary>Writes to <paramref name="path"/> (created on the first write).</summary>
    public CsvGoldMetricSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Write(IReadOnlyList<GoldMetricEvaluation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        AtomicFile.WriteAllText(Path, Format(history));
    }

    /// <summary>The CSV text of <paramref name="history"/>.</summary>
    public static string Format(IReadOnlyList<GoldMetricEvaluation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        var text = new StringBuilder().Append(string.Join(',', Columns)).Append('\n');
        foreach (var e in history)
            text.Append(string.Join(',', I(e.Images), I(e.Iteration), F(e.Proxy), F(e.ProxyStandardError), F(e.Gold), F(e.GoldStandardError),
                F(e.BestGold), I(e.BestImages), I(e.Streak), F(e.LogRatioMargin), F(e.LogRatioDrift), EventName(e.Event))).Append('\n');
        return text.ToString();
    }

    /// <summary>The CSV spelling of an event (kebab case: baseline, evaluated, new-best, diverging, stopped, restored-best).</summary>
    public static string EventName(GoldMetricEvent value) => value switch
    {
        GoldMetricEvent.Baseline => "baseline",
        GoldMetricEvent.Evaluated => "evaluated",
        GoldMetricEvent.NewBest => "new-best",
        GoldMetricEvent.Diverging => "diverging",
        GoldMetricEvent.Stopped => "stopped",
        GoldMetricEvent.RestoredBest => "restored-best",
        _ => value.ToString(),
    };
}
