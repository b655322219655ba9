using System.Text.Json;

namespace TailorPO.Training.Metrics;

/// <summary>
/// Writes metrics as JSON lines (one object per update; NaN written as null), one whole line per write; appends on
/// resume, cut back to the checkpoint's length first (<see cref="IResumableMetricsSink"/>).
/// </summary>
public sealed class JsonLinesMetricsSink : IResumableMetricsSink, IDisposable
{
    private readonly LineFile _file;

    /// <summary>Opens (or creates) the file.</summary>
    public JsonLinesMetricsSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _file = new LineFile(path);
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
        static double? N(double v) => double.IsFinite(v) ? v : null;
        var row = new Dictionary<string, object?>
        {
            ["method"] = m.Method, ["iteration"] = m.Iteration, ["update"] = m.Update, ["step_index"] = m.StepIndex,
            ["loss"] = N(m.Loss), ["implicit_accuracy"] = N(m.ImplicitAccuracy), ["preferred_reward"] = N(m.PreferredReward),
            ["dispreferred_reward"] = N(m.DispreferredReward), ["reward_gap"] = N(m.RewardGap), ["tied_fraction"] = N(m.TiedFraction),
            ["guidance_acceptance"] = N(m.GuidanceAcceptance), ["log_ratio_drift"] = N(m.LogRatioDrift),
            ["gradient_norm"] = N(m.GradientNorm), ["skipped"] = m.Skipped, ["samples"] = m.Samples,
            ["noise_evaluations"] = m.NoiseEvaluations, ["wall_seconds"] = N(m.WallSeconds), ["clip_fraction"] = N(m.ClipFraction),
            ["log_ratio_margin"] = N(m.LogRatioMargin), ["guidance_non_finite"] = N(m.GuidanceNonFinite),
        };
        _file.WriteLine(JsonSerializer.Serialize(row));
    }

    /// <inheritdoc />
    public void Flush() => _file.Flush();

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
