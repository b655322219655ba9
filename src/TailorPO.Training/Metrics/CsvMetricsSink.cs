using System.Globalization;

namespace TailorPO.Training.Metrics;

/// <summary>Writes metrics as CSV (invariant culture, header on the first line); appends to an existing file on resume.</summary>
public sealed class CsvMetricsSink : ITrainingMetricsSink, IDisposable
{
    /// <summary>The column names, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "method", "iteration", "update", "step_index", "loss", "implicit_accuracy", "preferred_reward", "dispreferred_reward",
        "reward_gap", "tied_fraction", "guidance_acceptance", "log_ratio_drift", "gradient_norm", "skipped", "samples",
        "noise_evaluations", "wall_seconds",
    ];

    private readonly StreamWriter _writer;

    /// <summary>Opens (or creates) the file.</summary>
    public CsvMetricsSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var exists = File.Exists(Path) && new FileInfo(Path).Length > 0;
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read));
        if (!exists) _writer.WriteLine(string.Join(',', Columns));
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Write(TrainingStepMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        _writer.WriteLine(string.Join(',',
            m.Method, m.Iteration.ToString(CultureInfo.InvariantCulture), m.Update.ToString(CultureInfo.InvariantCulture),
            m.StepIndex.ToString(CultureInfo.InvariantCulture), F(m.Loss), F(m.ImplicitAccuracy), F(m.PreferredReward),
            F(m.DispreferredReward), F(m.RewardGap), F(m.TiedFraction), F(m.GuidanceAcceptance), F(m.LogRatioDrift),
            F(m.GradientNorm), m.Skipped ? "1" : "0", m.Samples.ToString(CultureInfo.InvariantCulture),
            m.NoiseEvaluations.ToString(CultureInfo.InvariantCulture), F(m.WallSeconds)));
    }

    /// <inheritdoc />
    public void Flush() => _writer.Flush();

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();
}
