using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using TailorPO.Core.IO;
using TailorPO.Samples.Alignment;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Trains and evaluates <see cref="ComparisonRun"/>s through <see cref="AlignmentRun.TrainAsync"/>, caching every result
/// in the work folder: a finished stage is never redone, and an interrupted stage resumes from the run's checkpoint. So a
/// killed full run continues where it stopped, and sections share runs by key.
/// </summary>
public sealed class ComparisonRunner
{
    private readonly ComparisonSizing _sizing;
    private readonly string _work;
    private readonly HeldOutEvaluator _evaluator;
    private readonly IAnsiConsole _console;
    private readonly int _threads;
    private readonly Dictionary<string, RunResult> _results = [];
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Creates the runner.</summary>
    public ComparisonRunner(ComparisonSizing sizing, string workFolder, HeldOutEvaluator evaluator, IAnsiConsole console, int threads)
    {
        (_sizing, _work, _evaluator, _console, _threads) = (sizing, workFolder, evaluator, console, threads);
        Directory.CreateDirectory(Path.Combine(_work, "runs"));
        // Cached results are only valid for the sizing that made them.
        var fingerprint = Path.Combine(_work, "sizing.json");
        var current = JsonSerializer.Serialize(sizing, Json);
        if (File.Exists(fingerprint) && File.ReadAllText(fingerprint) != current)
            throw new Cli.BadInputException($"The work folder '{workFolder}' holds runs of a different {sizing.Name} sizing (its sizing.json differs); " +
                "delete it or pass another --work.");
        WriteAtomically(fingerprint, current);
    }

    /// <summary>Runs finished in this process (trained or read from the cache).</summary>
    public int Completed { get; private set; }

    /// <summary>
    /// Compute measured when each result was first computed (training wall time of runs, wall time of analyses), summed
    /// over what was used since the last <see cref="TakeCompute"/> - so a page rewritten from the cache still states
    /// what its numbers cost.
    /// </summary>
    public (double TrainingSeconds, double AnalysisSeconds) TakeCompute()
    {
        var taken = (_trainingSeconds, _analysisSeconds);
        (_trainingSeconds, _analysisSeconds) = (0, 0);
        return taken;
    }

    /// <summary>The same sums over everything used in this process.</summary>
    public (double TrainingSeconds, double AnalysisSeconds) TotalCompute => (_totalTraining, _totalAnalysis);

    private double _trainingSeconds, _analysisSeconds, _totalTraining, _totalAnalysis;
    private readonly HashSet<string> _counted = [];

    private void Count(string key, double training, double analysis)
    {
        (_trainingSeconds, _analysisSeconds) = (_trainingSeconds + training, _analysisSeconds + analysis);
        if (!_counted.Add(key)) return;
        (_totalTraining, _totalAnalysis) = (_totalTraining + training, _totalAnalysis + analysis);
    }

    /// <summary>The base model's scores (cached as base.json).</summary>
    public ImageSetScores BaseScores(CancellationToken cancellationToken)
    {
        var path = Path.Combine(_work, "base.json");
        if (File.Exists(path)) return JsonSerializer.Deserialize<ImageSetScores>(File.ReadAllText(path), Json)!;
        var scores = _evaluator.Evaluate(loraFile: null, cancellationToken);
        WriteAtomically(path, JsonSerializer.Serialize(scores, Json));
        return scores;
    }

    /// <summary>
    /// An analysis result (sections 2-4) cached as work/analyses/<paramref name="name"/>.json: computed once, so a rerun
    /// that only rewrites the page costs nothing.
    /// </summary>
    public T Cached<T>(string name, Func<T> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        var folder = Path.Combine(_work, "analyses");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name + ".json");
        var secondsPath = Path.Combine(folder, name + ".seconds");
        if (File.Exists(path))
        {
            var seconds = File.Exists(secondsPath) ? double.Parse(File.ReadAllText(secondsPath), CultureInfo.InvariantCulture) : 0;
            Count("analysis:" + name, 0, seconds);
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json)!;
        }
        var clock = Stopwatch.StartNew();
        var value = compute();
        WriteAtomically(path, JsonSerializer.Serialize(value, Json));
        WriteAtomically(secondsPath, clock.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
        Count("analysis:" + name, 0, clock.Elapsed.TotalSeconds);
        return value;
    }

    /// <summary>The folder of a run (an align run folder: lora.safetensors, metrics.csv, checkpoint/ ...).</summary>
    public string Folder(ComparisonRun run) => Path.Combine(_work, "runs", run.Key);

    /// <summary>Every seed of a configuration.</summary>
    public async Task<IReadOnlyList<RunResult>> SeedsAsync(Func<long, ComparisonRun> configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var results = new List<RunResult>();
        foreach (var seed in _sizing.Seeds) results.Add(await GetAsync(configuration(seed), cancellationToken).ConfigureAwait(false));
        return results;
    }

    /// <summary>The run's result: from the cache, or trained (resumed) and evaluated now.</summary>
    public async Task<RunResult> GetAsync(ComparisonRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (_results.TryGetValue(run.Key, out var known))
        {
            Count("run:" + run.Key, known.Final.TrainSeconds, 0);
            return known;
        }
        var folder = Folder(run);
        var stages = new List<StageResult>();
        var clock = Stopwatch.StartNew();
        var cached = true;
        for (var k = 1; k <= _sizing.Stages; k++)
        {
            var stageFile = Path.Combine(folder, $"stage-{k}.json");
            if (File.Exists(stageFile))
            {
                stages.Add(JsonSerializer.Deserialize<StageResult>(File.ReadAllText(stageFile), Json)!);
                continue;
            }
            cached = false;
            var budget = _sizing.Budget * k / _sizing.Stages;
            var resume = Directory.Exists(Path.Combine(folder, Training.PreferenceTrainer.CheckpointFolderName));
            var report = await AlignmentRun.TrainAsync(run.ToPlan(_sizing, budget, _threads), folder, resume, _console, cancellationToken).ConfigureAwait(false);
            var previous = stages.Count == 0 ? 0 : stages[^1].TrainSeconds;
            var scores = _evaluator.Evaluate(Path.Combine(folder, "lora.safetensors"), cancellationToken);
            var stage = new StageResult(report.Samples, report.NoiseEvaluations, previous + report.Elapsed.TotalSeconds, scores);
            WriteAtomically(stageFile, JsonSerializer.Serialize(stage, Json));
            stages.Add(stage);
        }
        var result = new RunResult(run, stages);
        _results[run.Key] = result;
        Count("run:" + run.Key, result.Final.TrainSeconds, 0);
        Completed++;
        var final = result.Final;
        // One plain line per run, so a long background run can be followed in its log.
        _console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{DateTime.Now:HH:mm:ss}] run {Completed}: {run.Key} {(cached ? "(cached)" : $"done in {clock.Elapsed.TotalSeconds:F0} s")}: " +
            $"{final.Samples} images, {final.NoiseEvaluations} NFE, train {final.TrainSeconds:F0} s, held-out {run.Reward} " +
            $"{(final.Scores.HeldOut.ContainsKey(run.Reward) ? final.Scores.HeldOutMean(run.Reward).ToString("G5", CultureInfo.InvariantCulture) : "n/a")}"));
        return result;
    }

    private static void WriteAtomically(string path, string text) => AtomicFile.WriteAllText(path, text);
}
