using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Numerics;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Core.Threading;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Guarding;
using TailorPO.Training.Methods;
using TailorPO.Training.Metrics;
using TailorPO.Training.Optimization;
using TailorPO.Training.Options;
using TailorPO.Training.Prompts;
using TailorPO.Training.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Training;

/// <summary>
/// A resumable preference trainer for one method (<see cref="ITrainingMethod"/>: TailorPO, TailorPO-G, D3PO, DDPO,
/// Diffusion-DPO, or your own) over the Core seams. It walks the prompts in a seeded order, runs iterations until the
/// sample budget is used, applies AdamW to the adapter parameters only, skips non-finite updates, reports progress and
/// metrics, and writes atomic checkpoints from which <see cref="ResumeFrom"/> continues bit-identically.
/// </summary>
public sealed class PreferenceTrainer : IDisposable
{
    /// <summary>The name of the rolling checkpoint folder inside <see cref="TailorPOTrainingOptions.CheckpointDirectory"/>.</summary>
    public const string CheckpointFolderName = "checkpoint";

    private readonly ITrainingMethod _method;
    private readonly IPromptSource _prompts;
    private readonly TrainerContext _context;
    private readonly PromptCursor _cursor;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<ITrainingMetricsSink> _sinks;
    private readonly GoldMetricGuard? _guard;

    /// <summary>Creates the trainer (validating both option sets: every bad knob in one exception).</summary>
    /// <param name="method">The training method.</param>
    /// <param name="sampler">The sampler.</param>
    /// <param name="stepRewards">r_t(c, x_t).</param>
    /// <param name="reward">The final-image reward (the proxy the run optimises).</param>
    /// <param name="decoder">Latents to images.</param>
    /// <param name="adapter">The trainable adapter.</param>
    /// <param name="encoder">Prompts to conditions.</param>
    /// <param name="prompts">The training prompts.</param>
    /// <param name="schedule">The noise schedule.</param>
    /// <param name="options">The training options.</param>
    /// <param name="core">The Core options.</param>
    /// <param name="sinks">Metrics sinks.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="goldMetric">The held-out gold metric the reward-hacking guard reads (required when
    /// <see cref="GoldMetricGuardOptions.EveryImages"/> &gt; 0, ignored otherwise).</param>
    /// <param name="goldMetricSinks">Receive the guard's history (e.g. <see cref="CsvGoldMetricSink"/>).</param>
    /// <exception cref="ArgumentException">Invalid options, or a method and parts that do not fit (e.g. TailorPO-G without a guiding refiner).</exception>
    public PreferenceTrainer(ITrainingMethod method, ISampler sampler, IStepRewardEstimator stepRewards, IRewardModel reward,
        ILatentDecoder decoder, IAdapter adapter, IPromptEncoder encoder,
        IPromptSource prompts, NoiseSchedule schedule, TailorPOTrainingOptions options, TailorPOCoreOptions core,
        IEnumerable<ITrainingMetricsSink>? sinks = null, ILogger<PreferenceTrainer>? logger = null,
        IGoldMetric? goldMetric = null, IEnumerable<IGoldMetricSink>? goldMetricSinks = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(stepRewards);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(core);
        var failures = TailorPOTrainingOptionsValidator.Check(options).ToList();
        var coreResult = new TailorPOCoreOptionsValidator().Validate(null, core);
        if (coreResult.Failed) failures.AddRange(coreResult.Failures ?? []);
        if (adapter.TrainableParameters.Count == 0)
            failures.Add("The adapter has no trainable parameter.");
        if (options.GoldMetricGuard is { Enabled: true } && goldMetric is null)
            failures.Add($"{nameof(TailorPOTrainingOptions)}.GoldMetricGuard.EveryImages = {options.GoldMetricGuard.EveryImages} needs an IGoldMetric " +
                "(register one, or pass it to the trainer), or set EveryImages = 0 to turn the guard off.");
        if (failures.Count > 0)
            throw new ArgumentException("Invalid training setup: " + string.Join(" ", failures), nameof(options));

        _method = method;
        _prompts = prompts;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _sinks = sinks?.ToList() ?? [];
        var parameters = adapter.TrainableParameters.Select(p => p.Parameter).ToList();
        var optimizer = new AdapterAdamW(parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        var counted = new CountingSampler(sampler);
        _context = new TrainerContext(counted, stepRewards, reward, decoder, adapter, encoder, schedule, options, core,
            optimizer, _sinks, _logger, method.Name);
        // The method's problems: its parts, and options that do not apply to it.
        failures.AddRange(method.Validate(_context));
        if (failures.Count > 0)
        {
            optimizer.Dispose();
            _context.Generator.Dispose();
            throw new ArgumentException("Invalid training setup: " + string.Join(" ", failures), nameof(options));
        }
        _cursor = new PromptCursor(prompts.Prompts, options.Seed);
        _context.NextPromptsSource = _cursor.Next;
        _context.Prompts = prompts.Prompts;
        if (options.GoldMetricGuard.Enabled)
            _guard = new GoldMetricGuard(goldMetric!, options.GoldMetricGuard, goldMetricSinks ?? [], adapter, _logger);
    }

    /// <summary>The method.</summary>
    public ITrainingMethod Method => _method;

    /// <summary>The context (counters, sampler, generator) the method runs in.</summary>
    public TrainerContext Context => _context;

    /// <summary>
    /// Trains on a worker thread until the sample budget is used or <paramref name="cancellationToken"/> is cancelled
    /// (<see cref="Train"/> under <see cref="CancellableWork"/>'s contract, the same as <c>GenerateAsync</c>'s).
    /// Cancelled before it starts: the task is cancelled and nothing runs (no step, no checkpoint). Cancelled while
    /// training: it stops at the next denoising step, the state rolls back to the last completed iteration, a checkpoint
    /// is written (when a checkpoint folder is set) and the task ends cancelled; resuming from that checkpoint continues
    /// exactly as if never interrupted. Either way awaiting the task throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="TrainingDivergedException">Too many non-finite updates in a row.</exception>
    public Task<TrainingReport> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        CancellableWork.RunAsync(token => Train(progress, token), cancellationToken);

    /// <summary>
    /// The synchronous form of <see cref="TrainAsync"/>, with the same cancellation: a token already cancelled throws
    /// <see cref="OperationCanceledException"/> before any work; a cancellation while training rolls back to the last
    /// completed iteration, writes the checkpoint and throws it.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="TrainingDivergedException">Too many non-finite updates in a row.</exception>
    public TrainingReport Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _context.Progress = progress;
        var clock = Stopwatch.StartNew();
        var options = _context.Options;
        // Wrong CPU numerics train on wrong gradients without an error: check the paths in use before the first step.
        TorchNumerics.EnsureGuarded(_logger);
        TorchNumerics.Verify();
        _logger.LogInformation("Training {Method}: budget {Budget} samples, batch {Batch}, seed {Seed}.", _method.Name, options.SampleBudget, options.BatchSize, options.Seed);
        // The baseline before the first iteration (or a reading a resumed run still owes). A reading is mostly generation,
        // whose pipeline and sampler hold the FinalizerGate per denoising step, so finalizers run between its steps.
        GuardIfDue(cancellationToken);
        while (_context.Samples < options.SampleBudget && _guard?.Stopped != true)
        {
            // No finalizer runs during an iteration: TorchSharp's operands cannot be freed under its native calls (FinalizerGate).
            using (FinalizerGate.Close())
            {
                var snapshot = TakeSnapshot();
                try
                {
                    // The rollouts' own NaN checks (a log-probability per sampling step, the model's outputs) are deferred and read
                    // once per iteration instead of once per step; each update reads its own checks with its metrics and never
                    // applies a non-finite step, so deferring the rollouts' checks cannot let a NaN reach the adapters.
                    using var rolloutChecks = DeferredFiniteChecks.Begin();
                    _method.RunIteration(_context, _cursor.Next(options.BatchSize), cancellationToken);
                    _context.FlushPendingGradients();
                    rolloutChecks.ThrowIfAnyNonFinite();
                }
                catch (OperationCanceledException)
                {
                    Restore(snapshot);
                    if (options.CheckpointDirectory is { } directory) SaveCheckpoint(Path.Combine(directory, CheckpointFolderName));
                    foreach (var sink in _sinks) sink.Flush();
                    _logger.LogInformation("Training cancelled; state rolled back to iteration {Iteration}.", _context.Iteration);
                    throw;
                }
                finally
                {
                    snapshot.Dispose();
                }
            }
            _context.Iteration++;
            GuardIfDue(cancellationToken);
            if (options.CheckpointDirectory is { } dir && options.CheckpointEveryIterations > 0 && _context.Iteration % options.CheckpointEveryIterations == 0)
                using (FinalizerGate.Close())
                    SaveCheckpoint(Path.Combine(dir, CheckpointFolderName));
        }
        if (_guard is not null)
        {
            // The last adapters are read once more unless they just were, so the end's restore decision is on current values.
            GuardIfDue(cancellationToken, final: true);
            _guard.Finish(_context.Samples, _context.Iteration, _context.Latest);
        }
        if (options.CheckpointDirectory is { } final)
        {
            using var gate = FinalizerGate.Close();
            SaveCheckpoint(Path.Combine(final, CheckpointFolderName));
        }
        foreach (var sink in _sinks) sink.Flush();
        return new TrainingReport(_method.Name, _context.Iteration, _context.Samples, _context.Updates, _context.SkippedUpdates,
            _context.Sampler.Evaluations, _context.Sampler.Evaluations / (double)Math.Max(1, _context.Samples), clock.Elapsed, _context.Latest)
        {
            GoldMetricGuard = _guard?.Summary(),
        };
    }

    /// <summary>
    /// Reads the gold metric when due (after a completed iteration; nothing to roll back). A cancellation during the
    /// reading writes the checkpoint of the completed iteration - the reading is still owed, and a resume makes it first.
    /// </summary>
    private void GuardIfDue(CancellationToken cancellationToken, bool final = false)
    {
        if (_guard is null) return;
        if (!(_guard.IsDue(_context.Samples) || (final && !_guard.Stopped && _guard.LastEvaluatedImages != _context.Samples))) return;
        try
        {
            _guard.Evaluate(_context.Samples, _context.Iteration, _context.Latest, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            if (_context.Options.CheckpointDirectory is { } directory) SaveCheckpoint(Path.Combine(directory, CheckpointFolderName));
            foreach (var sink in _sinks) sink.Flush();
            _logger.LogInformation("Training cancelled during a gold-metric reading; state kept at iteration {Iteration}.", _context.Iteration);
            throw;
        }
    }

    /// <summary>Writes a checkpoint folder (adapters, optimizer, generator, counters, prompt cursor) atomically.</summary>
    public void SaveCheckpoint(string folder)
    {
        var (tensors, steps) = _context.Optimizer.ExportState();
        var exported = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal) { ["generator"] = _context.Generator.get_state() };
        try
        {
            // The guard's best adapters are written beside the exported state but stay the guard's: only the export is disposed.
            var all = new Dictionary<string, Tensor>(exported, StringComparer.Ordinal);
            foreach (var (name, tensor) in _guard?.BestTensors() ?? []) all.Add(name, tensor);
            TrainingCheckpoint.Write(folder, _context.Adapter, all, Counters(steps) with { GoldMetricGuard = _guard?.ExportState() });
        }
        finally
        {
            foreach (var t in exported.Values) t.Dispose();
        }
        _logger.LogInformation("Checkpoint written to {Folder}: iteration {Iteration}, {Samples} samples, {Updates} updates.",
            folder, _context.Iteration, _context.Samples, _context.Updates);
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> (same method, seed and adapter layout).</summary>
    /// <exception cref="InvalidDataException">The checkpoint is incomplete, malformed or from another method or seed.</exception>
    public void ResumeFrom(string folder)
    {
        // A crash between the renames of a checkpoint swap leaves the checkpoint beside its place: put it back first.
        TrainingCheckpoint.Recover(folder);
        var (counters, tensors) = TrainingCheckpoint.Read(folder);
        try
        {
            if (counters.Method != _method.Name)
                throw new InvalidDataException($"The checkpoint '{folder}' was written by method '{counters.Method}'; this trainer runs '{_method.Name}'.");
            if (counters.Seed != _context.Options.Seed)
                throw new InvalidDataException($"The checkpoint '{folder}' was written with seed {counters.Seed}; this trainer has seed {_context.Options.Seed}.");
            var manifest = Path.Combine(folder, TrainingCheckpoint.CountersFile);
            var problems = CheckpointCountersCheck.Problems(counters, _context.Options, manifest)
                .Concat(GoldMetricGuard.ResumeProblems(counters.GoldMetricGuard, _context.Options.GoldMetricGuard, _guard?.Metric, counters.Samples, manifest)).ToList();
            if (problems.Count > 0) throw new InvalidDataException("The checkpoint cannot be resumed: " + string.Join(" ", problems));
            _context.Adapter.Load(Path.Combine(folder, TrainingCheckpoint.AdapterFile));
            _context.Optimizer.ImportState(tensors, counters.OptimizerSteps);
            if (!tensors.TryGetValue("generator", out var generator))
                throw new InvalidDataException($"The checkpoint '{folder}' has no generator state.");
            _context.Generator.set_state(generator);
            ApplyCounters(counters);
            if (_guard is not null && counters.GoldMetricGuard is { } guardState) _guard.ImportState(guardState, tensors, folder);
            _logger.LogInformation("Resumed {Method} at iteration {Iteration}, {Samples} samples.", _method.Name, counters.Iterations, counters.Samples);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _guard?.Dispose();
        _context.Optimizer.Dispose();
        _context.Generator.Dispose();
        if (_method is IDisposable disposable) disposable.Dispose();
    }

    private TrainerCounters Counters(long optimizerSteps) => new()
    {
        Method = _method.Name,
        Seed = _context.Options.Seed,
        Iterations = _context.Iteration,
        Updates = _context.Updates,
        SkippedUpdates = _context.SkippedUpdates,
        Samples = _context.Samples,
        NoiseEvaluations = _context.Sampler.Evaluations,
        OptimizerSteps = optimizerSteps,
        PromptEpoch = _cursor.Epoch,
        PromptPosition = _cursor.Position,
        MethodState = _method is IStatefulComponent method ? method.ExportState().ToDictionary(p => p.Key, p => p.Value) : null,
        RewardState = _context.Reward is IStatefulComponent reward ? reward.ExportState().ToDictionary(p => p.Key, p => p.Value) : null,
        MetricsLengths = ResumableSinks.ToDictionary(sink => sink.Name, sink => sink.Length, StringComparer.Ordinal),
    };

    private IEnumerable<IResumableMetricsSink> ResumableSinks => _sinks.OfType<IResumableMetricsSink>();

    private void ApplyCounters(TrainerCounters counters)
    {
        _context.Iteration = counters.Iterations;
        _context.Updates = counters.Updates;
        _context.SkippedUpdates = counters.SkippedUpdates;
        _context.Samples = counters.Samples;
        _context.Sampler.Evaluations = counters.NoiseEvaluations;
        _cursor.Restore(counters.PromptEpoch, counters.PromptPosition);
        if (_method is IStatefulComponent method && counters.MethodState is { } methodState) method.ImportState(methodState);
        if (_context.Reward is IStatefulComponent reward && counters.RewardState is { } rewardState) reward.ImportState(rewardState);
        // Rows written after this state (an interrupted run's later iterations, a line cut by a kill) are dropped.
        foreach (var sink in ResumableSinks)
            if (counters.MetricsLengths?.TryGetValue(sink.Name, out var length) == true)
            {
                sink.Flush();
                if (!sink.TruncateTo(length))
                    _logger.LogWarning("The metrics output {Sink} is shorter than the checkpoint recorded ({Length}): rows before the checkpoint are missing from it.",
                        sink.Name, length);
            }
    }

    /// <summary>An in-memory copy of everything an iteration changes, so a cancelled iteration leaves no trace.</summary>
    private Snapshot TakeSnapshot()
    {
        var (optimizer, steps) = _context.Optimizer.ExportState();
        List<Tensor> adapter;
        using (var scope = NewDisposeScope()) // the detach() handles die here; the copies leave it
            adapter = _context.Adapter.TrainableParameters.Select(p => p.Parameter.detach().clone().MoveToOuterDisposeScope()).ToList();
        return new Snapshot(adapter, optimizer, _context.Generator.get_state(), Counters(steps));
    }

    private void Restore(Snapshot snapshot)
    {
        using (no_grad())
        {
            var parameters = _context.Adapter.TrainableParameters;
            for (var i = 0; i < parameters.Count; i++) parameters[i].Parameter.copy_(snapshot.Adapter[i]);
        }
        _context.Optimizer.ImportState(snapshot.Optimizer, snapshot.Counters.OptimizerSteps);
        _context.Optimizer.ZeroGrad();
        _context.Generator.set_state(snapshot.Generator);
        ApplyCounters(snapshot.Counters);
    }

    private sealed record Snapshot(IReadOnlyList<Tensor> Adapter, IReadOnlyDictionary<string, Tensor> Optimizer, Tensor Generator, TrainerCounters Counters) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in Adapter) t.Dispose();
            foreach (var t in Optimizer.Values) t.Dispose();
            Generator.Dispose();
        }
    }
}

/// <summary>The outcome of a training run.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Iterations">Completed iterations.</param>
/// <param name="Samples">Final images generated (the budget count).</param>
/// <param name="Updates">Updates (backward passes).</param>
/// <param name="SkippedUpdates">Updates skipped as non-finite.</param>
/// <param name="NoiseEvaluations">Model evaluations (a CFG pair counts once per sample).</param>
/// <param name="NoiseEvaluationsPerSample">Model evaluations per final image.</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="Latest">The last update's metrics, or null.</param>
public sealed record TrainingReport(string Method, int Iterations, long Samples, long Updates, long SkippedUpdates, long NoiseEvaluations,
    double NoiseEvaluationsPerSample, TimeSpan Elapsed, TrainingStepMetrics? Latest)
{
    /// <summary>What the reward-hacking guard did (evaluations, best, early stop, restore), or null when it was off.</summary>
    public GoldMetricGuardSummary? GoldMetricGuard { get; init; }
}
