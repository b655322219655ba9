using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Threading;
using TailorPO.Training.Metrics;
using TailorPO.Training.Optimization;
using TailorPO.Training.Options;
using TailorPO.Training.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// What a <see cref="ITrainingMethod"/> works with: the counted sampler, the rewards, the adapter (reference model =
/// adapters off), the run generator, <see cref="LogRatios"/>, and <see cref="Update"/>, which back-propagates one loss
/// and applies AdamW behind the non-finite guard with ONE host read per update. A method's own parts (its loss, a
/// refiner) are its constructor's business, not the context's.
/// </summary>
public sealed class TrainerContext
{
    private readonly AdapterAdamW _optimizer;
    private readonly AdapterGradientStep _gradientStep;
    private readonly IReadOnlyList<ITrainingMetricsSink> _sinks;
    private readonly ILogger _logger;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    internal TrainerContext(CountingSampler sampler, IStepRewardEstimator stepRewards, IRewardModel reward, ILatentDecoder decoder,
        IAdapter adapter, IPromptEncoder encoder, NoiseSchedule schedule,
        TailorPOTrainingOptions options, TailorPOCoreOptions core, AdapterAdamW optimizer, IReadOnlyList<ITrainingMetricsSink> sinks,
        ILogger logger, string methodName)
    {
        Sampler = sampler;
        StepRewards = stepRewards;
        Reward = reward;
        Decoder = decoder;
        Adapter = adapter;
        Encoder = encoder;
        Schedule = schedule;
        Options = options;
        Core = core;
        _optimizer = optimizer;
        var parameters = adapter.TrainableParameters.Select(p => p.Parameter).ToList();
        _gradientStep = new AdapterGradientStep(optimizer, parameters, options);
        _sinks = sinks;
        _logger = logger;
        MethodName = methodName;
        Device = parameters[0].device;
        Generator = new Generator((ulong)options.Seed, Device);
        TrainedSteps = core.Finetune.SelectStepIndices(sampler.Timesteps.Count).ToHashSet();
    }

    /// <summary>The sampler (counting model evaluations).</summary>
    public CountingSampler Sampler { get; }

    /// <summary>r_t(c, x) of candidates.</summary>
    public IStepRewardEstimator StepRewards { get; }

    /// <summary>The final-image reward.</summary>
    public IRewardModel Reward { get; }

    /// <summary>D: latents to images in [0, 1].</summary>
    public ILatentDecoder Decoder { get; }

    /// <summary>The trainable adapter; <see cref="IAdapter.Disable"/> gives the reference model.</summary>
    public IAdapter Adapter { get; }

    /// <summary>Prompts to conditions.</summary>
    public IPromptEncoder Encoder { get; }

    /// <summary>The training noise schedule (Diffusion-DPO's forward process).</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The training options.</summary>
    public TailorPOTrainingOptions Options { get; }

    /// <summary>The Core options (sampling, T_finetune, losses).</summary>
    public TailorPOCoreOptions Core { get; }

    /// <summary>The run generator (on the adapter's device): every random draw takes it.</summary>
    public Generator Generator { get; }

    /// <summary>The adapter's device.</summary>
    public Device Device { get; }

    /// <summary>The trained step indices (T_finetune of them).</summary>
    public IReadOnlySet<int> TrainedSteps { get; }

    /// <summary>The method's name.</summary>
    public string MethodName { get; }

    /// <summary>Completed iterations.</summary>
    public int Iteration { get; internal set; }

    /// <summary>Updates so far.</summary>
    public long Updates { get; internal set; }

    /// <summary>Skipped (non-finite) updates so far.</summary>
    public long SkippedUpdates { get; internal set; }

    /// <summary>Final images generated so far.</summary>
    public long Samples { get; internal set; }

    /// <summary>The latest update's metrics.</summary>
    public TrainingStepMetrics? Latest { get; private set; }

    internal AdapterAdamW Optimizer => _optimizer;

    internal IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>The condition of a batch with the configured CFG scale (the one scale sampling and re-scoring use).</summary>
    public DiffusionCondition Encode(IReadOnlyList<string> prompts) => Encoder.Encode(prompts, Core.Sampling.GuidanceScale);

    /// <summary>x_T ~ N(0, I) for <paramref name="batch"/> samples, from the run generator.</summary>
    public Tensor InitialNoise(int batch) => InitialNoise(batch, Generator);

    /// <summary>x_T ~ N(0, I) for <paramref name="batch"/> samples, from <paramref name="generator"/> (a method's own stream).</summary>
    public Tensor InitialNoise(int batch, Generator generator)
    {
        var shape = new long[] { batch }.Concat(Options.LatentShape!.Select(d => (long)d)).ToArray();
        return randn(shape, ScalarType.Float32, Device, generator: generator);
    }

    /// <summary>The next batch of prompts from the run's cursor (collect-then-train methods sampling several batches).</summary>
    public IReadOnlyList<string> NextPrompts() => NextPromptsSource?.Invoke(Options.BatchSize)
        ?? throw new InvalidOperationException("The trainer has not attached a prompt cursor.");

    internal Func<int, IReadOnlyList<string>>? NextPromptsSource { get; set; }

    /// <summary>Every prompt of the run's prompt source (for a method that draws a fixed set of its own from them).</summary>
    public IReadOnlyList<string> Prompts { get; internal set; } = [];

    /// <summary>A permutation of 0..count-1 drawn from the run generator (one host read).</summary>
    public int[] Shuffle(int count)
    {
        if (count == 0) return [];
        using var scope = NewDisposeScope();
        return randperm(count, generator: Generator, device: Device).cpu().data<long>().Select(i => (int)i).ToArray();
    }

    /// <summary>Counts generated final images towards the budget.</summary>
    public void AddSamples(int count) => Samples += count;

    /// <summary>
    /// The log-ratios h = log pi_theta(x_{t-1} | x_t) / pi_ref(x_{t-1} | x_t) of samples drawn from ONE x_t, against the
    /// adapters-off reference: one policy and one reference mean serve every sample (differentiable in the adapters).
    /// </summary>
    /// <param name="stepIndex">The sampling step index of x_t.</param>
    /// <param name="latents">x_t [B, ...].</param>
    /// <param name="samples">x_{t-1} candidates [K, B, ...] (or one [B, ...]).</param>
    /// <param name="condition">The condition, with the sampling CFG scale.</param>
    /// <returns>[K, B] (or [B]).</returns>
    public Tensor LogRatios(int stepIndex, Tensor latents, Tensor samples, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var transition = new SamplerTransition(stepIndex, latents, samples.dim() > latents.dim() ? samples[0] : samples,
            zeros(latents.shape[0], device: latents.device));
        var policy = Sampler.Score(transition, condition);
        Tensor referenceMean;
        using (Adapter.Disable())
        using (no_grad())
            referenceMean = Sampler.Score(transition, condition).Mean;
        return DdimStepMath.LogRatio(samples, policy.Mean, referenceMean, policy.Sigma);
    }

    /// <summary>
    /// Computes a loss with <paramref name="compute"/>, back-propagates it and - every
    /// <c>GradientAccumulationSteps</c> backward passes - clips and applies AdamW. All finiteness checks made while
    /// computing are deferred and fused with the metrics into ONE host read; a non-finite loss or gradient skips the
    /// update (the adapters never see it) and too many in a row stop training.
    /// </summary>
    /// <param name="stepIndex">The trained step index, or -1.</param>
    /// <param name="compute">Builds the loss inside the update's dispose scope.</param>
    /// <exception cref="TrainingDivergedException">MaxConsecutiveNonFiniteUpdates updates in a row were non-finite.</exception>
    public TrainingStepMetrics Update(int stepIndex, Func<UpdateOutcome> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        using var checks = DeferredFiniteChecks.Begin();
        using var scope = NewDisposeScope();
        var outcome = compute();
        var norm = _gradientStep.Backward(outcome.Loss);
        var readout = UpdateReadout.Read(outcome, norm, checks, Device);
        _gradientStep.Complete(readout.Skipped, norm);
        if (readout.Skipped) ReportSkipped(stepIndex, readout, checks);

        var metrics = new TrainingStepMetrics(MethodName, Iteration, Updates, stepIndex, readout.Loss, readout.ImplicitAccuracy,
            readout.PreferredReward, readout.DispreferredReward, readout.RewardGap, readout.TiedFraction, readout.GuidanceAcceptance,
            readout.LogRatioDrift, readout.GradientNorm, readout.Skipped, Samples, Sampler.Evaluations, _clock.Elapsed.TotalSeconds,
            readout.ClipFraction)
        {
            LogRatioMargin = readout.LogRatioMargin,
            GuidanceNonFinite = readout.GuidanceNonFinite,
        };
        Updates++;
        Latest = metrics;
        foreach (var sink in _sinks) sink.Write(metrics);
        Checkpoints.CrashTestHook.Reach(Checkpoints.CrashTestHook.AfterMetricsLine);
        if (Progress is { } progress)
        {
            // The caller's callback runs with finalizers free (it may wait for them); no native call of this thread is in flight.
            using var suspended = FinalizerGate.Suspend();
            progress.Report(new TrainingProgress(Samples, Options.SampleBudget, Iteration, metrics));
        }
        return metrics;
    }

    /// <summary>Applies gradients still pending at the end of an iteration (so checkpoints hold none).</summary>
    internal void FlushPendingGradients() => _gradientStep.Flush();

    /// <summary>Logs a skipped update with its cause, and stops training after too many in a row.</summary>
    private void ReportSkipped(int stepIndex, UpdateReadout readout, DeferredFiniteChecks checks)
    {
        SkippedUpdates++;
        string cause;
        try
        {
            checks.ThrowIfAnyNonFinite();
            cause = $"the loss ({readout.Loss}) or the gradient norm ({readout.GradientNorm}) is not finite";
        }
        catch (NonFiniteValueException ex)
        {
            cause = ex.Message;
        }
        _logger.LogWarning("Skipped update {Update} at step index {Step} of iteration {Iteration}: {Cause}", Updates, stepIndex, Iteration, cause);
        if (_gradientStep.NonFiniteStreak >= Options.MaxConsecutiveNonFiniteUpdates)
            throw new TrainingDivergedException(
                $"Training stopped: {_gradientStep.NonFiniteStreak} updates in a row were not finite, the last at step index {stepIndex} of iteration {Iteration} " +
                $"(update {Updates}): {cause}. The adapters keep the last finite weights; lower the learning rate or check the reward and the inputs.");
    }
}
