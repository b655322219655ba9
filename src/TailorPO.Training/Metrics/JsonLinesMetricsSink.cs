using System.Text.Json;

namespace TailorPO.Training.Metrics;

/// <summary>Writes metrics as JSON lines (one object per update; NaN written as null); appends on resume.</summary>
public sealed class JsonLinesMetricsSink : ITrainingMetricsSink, IDisposable
{
    private readonly StreamWriter _writer;

    /// <summary>Opens (or creates) the file.</summary>
    public JsonLinesMetricsSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read));
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

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
            ["noise_evaluations"] = m.NoiseEvaluations, ["wall_seconds"] = N(m.WallSeconds),
        };
        _writer.WriteLine(JsonSerializer.Serialize(row));
    }

    /// <inheritdoc />
    public void Flush() => _writer.Flush();

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();
}
