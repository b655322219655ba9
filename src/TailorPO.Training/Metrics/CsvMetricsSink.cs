using System.Globalization;

namespace TailorPO.Training.Metrics;

/// <summary>
/// Writes metrics as CSV (invariant culture, header on the first line), one whole line per write; appends to an existing
/// file on resume, cut back to the checkpoint's length first (<see cref="IResumableMetricsSink"/>).
/// </summary>
public sealed class CsvMetricsSink : IResumableMetricsSink, IDisposable
{
    /// <summary>The column names, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "method", "iteration", "update", "step_index", "loss", "implicit_accuracy", "preferred_reward", "dispreferred_reward",
        "reward_gap", "tied_fraction", "guidance_acceptance", "log_ratio_drift", "gradient_norm", "skipped", "samples",
        "noise_evaluations", "wall_seconds", "clip_fraction", "log_ratio_margin", "guidance_non_finite",
    ];

    private readonly LineFile _file;

    /// <summary>Opens (or creates) the file.</summary>
    public CsvMetricsSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _file = new LineFile(path);
        if (_file.Length == 0) _file.WriteLine(string.Join(',', Columns));
    }

    /// <summary>The file written.</summary>
    public string Path => _file.Path;

    /// <inheritdoc />
    public string Name => System.IO.Path.GetFileName(Path);

    /// <inheritdoc />
    public long Length => _file.Length;

    /// <inheritdoc />
    public bool TruncateTo(long length) => _file.TruncateTo(length);

    /// <inheritdoc />
    public void Write(TrainingStepMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        _file.WriteLine(string.Join(',',
            m.Method, m.Iteration.ToString(CultureInfo.InvariantCulture), m.Update.ToString(CultureInfo.InvariantCulture),
            m.StepIndex.ToString(CultureInfo.InvariantCulture), F(m.Loss), F(m.ImplicitAccuracy), F(m.PreferredReward),
            F(m.DispreferredReward), F(m.RewardGap), F(m.TiedFraction), F(m.GuidanceAcceptance), F(m.LogRatioDrift),
            F(m.GradientNorm), m.Skipped ? "1" : "0", m.Samples.ToString(CultureInfo.InvariantCulture),
            m.NoiseEvaluations.ToString(CultureInfo.InvariantCulture), F(m.WallSeconds), F(m.ClipFraction), F(m.LogRatioMargin), F(m.GuidanceNonFinite)));
    }

    /// <inheritdoc />
    public void Flush() => _file.Flush();

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
