using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using TailorPO.Core.IO;
using TailorPO.Reproduction.Measuring;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// Trains and evaluates <see cref="ComparisonRun"/>s through <see cref="RunTraining.TrainAsync"/>, caching every result
/// in the work folder: an evaluation point reached is never redone, a run asked for a later point resumes from its
/// checkpoint, and an interrupted stage resumes too. So a killed full run continues where it stopped, and sections share
/// runs by key.
/// <para>
/// Two processes may share one work folder (docs/reproduction.md, "Using both cores"): every run folder, analysis and the
/// base scores has its own <see cref="WorkLock"/>, taken only when something is missing and held until its result is
/// written; after taking it the runner reads the folder again, since the other process may have computed it meanwhile.
/// Results are deterministic and a resumed run is bit-identical to an uninterrupted one, so it does not matter which
/// process computed what. Cached results are read without a lock: their files are written atomically.
/// </para>
/// </summary>
public sealed class ComparisonRunner
{
    private readonly ComparisonSizing _sizing;
    private readonly string _work;
    private readonly HeldOutEvaluator _evaluator;
    private readonly IAnsiConsole _console;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Creates the runner.</summary>
    public ComparisonRunner(ComparisonSizing sizing, string workFolder, HeldOutEvaluator evaluator, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        (_sizing, _work, _evaluator, _console) = (sizing, workFolder, evaluator, console);
        Directory.CreateDirectory(Path.Combine(_work, "runs"));
        // Cached results are only valid for the sizing that made them.
        var fingerprint = Path.Combine(_work, "sizing.json");
        var current = JsonSerializer.Serialize(sizing, Json);
        if (File.Exists(fingerprint) && File.ReadAllText(fingerprint) != current)
            throw new InvalidOperationException($"The work folder '{workFolder}' holds runs of a different {sizing.Name} sizing (its sizing.json differs); " +
                "delete it or pass another --work.");
        WriteAtomically(fingerprint, current);
    }

    /// <summary>
    /// Work through seeds in reverse order (the <c>--reverse</c> second process), so that a second process sharing the work
    /// folder starts where the first will end. Results still come back in seed order.
    /// </summary>
    public bool Reverse { get; init; }

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
        using var held = Lock(Path.Combine(_work, "base.lock"), "the base model's scores", cancellationToken);
        if (File.Exists(path)) return JsonSerializer.Deserialize<ImageSetScores>(File.ReadAllText(path), Json)!;
        var scores = _evaluator.Evaluate(loraFile: null, cancellationToken);
        WriteAtomically(path, JsonSerializer.Serialize(scores, Json));
        return scores;
    }

    /// <summary>
    /// An analysis result (sections 2-4) cached as work/analyses/<paramref name="name"/>.json: computed once, so a rerun
    /// that only rewrites the page costs nothing.
    /// </summary>
    /// <param name="name">The analysis's file name (without .json).</param>
    /// <param name="compute">Computes it when it is not cached.</param>
    /// <param name="cancellationToken">Observed while waiting for another process computing the same analysis.</param>
    public T Cached<T>(string name, Func<T> compute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(compute);
        var folder = Path.Combine(_work, "analyses");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name + ".json");
        var secondsPath = Path.Combine(folder, name + ".seconds");
        T Read()
        {
            var seconds = File.Exists(secondsPath) ? double.Parse(File.ReadAllText(secondsPath), CultureInfo.InvariantCulture) : 0;
            Count("analysis:" + name, 0, seconds);
            _analysisByName[name] = seconds;
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json)!;
        }
        // Both files present: done. The .seconds file is written after the .json, so a .json alone may be another process
        // between the two writes - the lock (held until both are written) settles it.
        if (File.Exists(path) && File.Exists(secondsPath)) return Read();
        using var held = Lock(Path.Combine(folder, name + ".lock"), $"analysis {name}", cancellationToken);
        if (File.Exists(path)) return Read();
        var clock = Stopwatch.StartNew();
        var value = compute();
        WriteAtomically(path, JsonSerializer.Serialize(value, Json));
        WriteAtomically(secondsPath, clock.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
        Count("analysis:" + name, 0, clock.Elapsed.TotalSeconds);
        _analysisByName[name] = clock.Elapsed.TotalSeconds;
        return value;
    }

    /// <summary>The folder of a run (an align run folder: lora.safetensors, metrics.csv, checkpoint/ ...).</summary>
    public string Folder(ComparisonRun run) => Path.Combine(_work, "runs", run.Key);

    /// <summary>
    /// Every seed of a configuration, each evaluated at <paramref name="points"/> (image counts); in seed order, also when
    /// <see cref="Reverse"/> works through them backwards.
    /// </summary>
    public async Task<IReadOnlyList<RunResult>> SeedsAsync(ComparisonRun configuration, IEnumerable<int> points, CancellationToken cancellationToken,
        IEnumerable<long>? seeds = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var wanted = points.ToList();
        return await WorkOrder.MapAsync((seeds ?? _sizing.Seeds).ToList(), Reverse,
            seed => GetAsync(configuration.WithSeed(seed), wanted, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The run evaluated at every point of <paramref name="points"/> (image counts) and at every point evaluated before:
    /// from the cache, or trained (resumed) and evaluated now. Points behind the run's furthest evaluation that were never
    /// evaluated cannot be reached any more and are left out (the budgets rule says what is used instead).
    /// </summary>
    public async Task<RunResult> GetAsync(ComparisonRun run, IEnumerable<int> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(points);
        var folder = Folder(run);
        Directory.CreateDirectory(folder);
        _seen[run.Key] = run;
        var wanted = points.Distinct().Order().ToList();
        var stages = ReadStages(folder);
        var clock = Stopwatch.StartNew();
        var trained = false;
        // Something to train: take the run's lock (another process may be training it) and read the stages again, since
        // that process may have trained and evaluated them meanwhile. Nothing to train: no lock, the stages are final.
        using var held = wanted.Any(images => !Reached(stages, images))
            ? await LockAsync(Path.Combine(folder, ".lock"), $"run {run.Key}", cancellationToken).ConfigureAwait(false)
            : null;
        if (held is not null) stages = ReadStages(folder);
        foreach (var images in wanted)
        {
            if (Reached(stages, images)) continue;
            trained = true;
            var report = await RunTraining.TrainAsync(run, _sizing, images, folder, cancellationToken).ConfigureAwait(false);
            var previous = stages.Count == 0 ? 0 : stages[^1].TrainSeconds;
            var evaluation = Stopwatch.StartNew();
            var lora = Path.Combine(folder, RunTraining.LoraFile);
            File.Copy(lora, Path.Combine(folder, RunTraining.StageLoraFile(report.Samples)), overwrite: true);
            var scores = _evaluator.Evaluate(lora, cancellationToken, RewardPanel.LearnedNames.Contains(run.Reward) ? run.Reward : null);
            var stage = new StageResult(report.Samples, report.Updates, report.NoiseEvaluations, previous + report.Elapsed.TotalSeconds, scores,
                evaluation.Elapsed.TotalSeconds, RunTraining.MeanClipFraction(folder));
            WriteAtomically(Path.Combine(folder, $"stage-{report.Samples}.json"), JsonSerializer.Serialize(stage, Json));
            stages.Add(stage);
        }
        held?.Dispose();
        var result = new RunResult(run, stages);
        Count("run:" + run.Key, stages[^1].TrainSeconds, 0);
        if (!_logged.Add(run.Key) && !trained) return result;
        Completed++;
        var final = result.Stages[^1];
        // One plain line per run, so a long background run can be followed in its log.
        _console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{DateTime.Now:HH:mm:ss}] run {Completed}: {run.Key} {(trained ? $"trained in {clock.Elapsed.TotalSeconds:F0} s" : "(cached)")}: " +
            $"{final.Samples} images, {final.Updates} updates, {final.NoiseEvaluations} NFE, train {final.TrainSeconds:F0} s, held-out {run.Reward} " +
            $"{(final.Scores.HeldOut.ContainsKey(run.Reward) ? final.Scores.HeldOutMean(run.Reward).ToString("G5", CultureInfo.InvariantCulture) : "n/a")}"));
        return result;
    }

    private readonly HashSet<string> _logged = [];

    // A point at or behind the run's furthest evaluation needs no training (one behind it that was never evaluated cannot be
    // reached any more).
    private static bool Reached(List<StageResult> stages, int images) => stages.Any(s => s.Samples >= images);

    private async Task<WorkLock> LockAsync(string path, string what, CancellationToken cancellationToken)
    {
        if (WorkLock.TryAcquire(path) is { } free) return free;
        // Say so once, so a log that stops moving is explained.
        _console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] waiting for {what}: another process is computing it"));
        return await WorkLock.AcquireAsync(path, cancellationToken).ConfigureAwait(false);
    }

    private WorkLock Lock(string path, string what, CancellationToken cancellationToken) =>
        LockAsync(path, what, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Every run of this process with its evaluation points (for the time estimate).</summary>
    public IReadOnlyList<RunResult> AllRuns() => _seen.Values.Select(run => new RunResult(run, ReadStages(Folder(run)))).ToList();

    private readonly Dictionary<string, ComparisonRun> _seen = [];

    /// <summary>Wall seconds of every cached analysis of this process, by name.</summary>
    public IReadOnlyDictionary<string, double> AnalysisSeconds => _analysisByName;

    private readonly Dictionary<string, double> _analysisByName = [];

    private static List<StageResult> ReadStages(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, "stage-*.json").Select(f => JsonSerializer.Deserialize<StageResult>(File.ReadAllText(f), Json)!).OrderBy(s => s.Samples).ToList()
            : [];

    private static void WriteAtomically(string path, string text) => AtomicFile.WriteAllText(path, text);
}
