using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Guidance;
using TailorPO.Training.Metrics;
using TailorPO.Training.Optimization;
using TailorPO.Training.Options;
using TailorPO.Training.Sampling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// What a <see cref="ITrainingMethod"/> works with: the counted sampler, the rewards, the refiner, the adapter (reference
/// model = adapters off), the run generator, and <see cref="Update"/>, which back-propagates one loss and applies
/// AdamW behind the non-finite guard with ONE host read per update.
/// </summary>
public sealed class TrainerContext
{
    private readonly AdapterAdamW _optimizer;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly IReadOnlyList<ITrainingMetricsSink> _sinks;
    private readonly ILogger _logger;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _pendingBackward;
    private int _nonFiniteStreak;

    internal TrainerContext(CountingSampler sampler, IStepRewardEstimator stepRewards, IRewardModel reward, ILatentDecoder decoder,
        IPreferredSampleRefiner refiner, IPairwiseLoss loss, IAdapter adapter, IPromptEncoder encoder, NoiseSchedule schedule,
        TailorPOTrainingOptions options, TailorPOCoreOptions core, AdapterAdamW optimizer, IReadOnlyList<ITrainingMetricsSink> sinks,
        ILogger logger, string methodName)
    {
        Sampler = sampler;
        StepRewards = stepRewards;
        Reward = reward;
        Decoder = decoder;
        Refiner = refiner;
        Loss = loss;
        Adapter = adapter;
        Encoder = encoder;
        Schedule = schedule;
        Options = options;
        Core = core;
        _optimizer = optimizer;
        _parameters = adapter.TrainableParameters.Select(p => p.Parameter).ToList();
        _sinks = sinks;
        _logger = logger;
        MethodName = methodName;
        Device = _parameters[0].device;
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

    /// <summary>TailorPO-G's refiner (a no-op for the other methods).</summary>
    public IPreferredSampleRefiner Refiner { get; }

    /// <summary>The pairwise loss (TailorPO, D3PO or Diffusion-DPO).</summary>
    public IPairwiseLoss Loss { get; }

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
    public Tensor InitialNoise(int batch)
    {
        var shape = new long[] { batch }.Concat(Options.LatentShape!.Select(d => (long)d)).ToArray();
        return randn(shape, ScalarType.Float32, Device, generator: Generator);
    }

    /// <summary>The next batch of prompts from the run's cursor (collect-then-train methods sampling several batches).</summary>
    public IReadOnlyList<string> NextPrompts() => NextPromptsSource?.Invoke(Options.BatchSize)
        ?? throw new InvalidOperationException("The trainer has not attached a prompt cursor.");

    internal Func<int, IReadOnlyList<string>>? NextPromptsSource { get; set; }

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
        outcome.Loss.backward();
        _pendingBackward++;
        var boundary = _pendingBackward >= Options.GradientAccumulationSteps;
        var norm = boundary ? GradientNorm.Clip(_parameters, Options.MaxGradNorm) : null;

        var nan = full([], double.NaN, ScalarType.Float64, Device); // a fill on the device, no host-to-device copy
        Tensor Scalar(Tensor? t) => t is null ? nan : t.detach().to_type(ScalarType.Float64).to(Device).reshape([]);
        var lossValue = Scalar(outcome.Loss);
        var statistics = outcome.Statistics?.Values.detach().to_type(ScalarType.Float64).to(Device)
            ?? cat([lossValue.reshape(1), full([5], double.NaN, ScalarType.Float64, Device)]);
        var nonFinite = checks.NonFiniteCount(Device).to_type(ScalarType.Float64) + lossValue.isfinite().logical_not().to_type(ScalarType.Float64)
            + (norm is null ? zeros([], ScalarType.Float64, Device) : norm.isfinite().logical_not().to_type(ScalarType.Float64));
        var s = outcome.Signals;
        var read = cat([statistics, stack([Scalar(s.PreferredReward), Scalar(s.DispreferredReward), Scalar(s.RewardGap),
            Scalar(s.GuidanceAcceptance), Scalar(s.LogRatioDrift), Scalar(norm), nonFinite])]).cpu().data<double>().ToArray();

        // Layout: loss, accuracy, h_w, h_l, clamped, tied | preferred, dispreferred, gap, acceptance, drift, norm, non-finite.
        var skipped = read[12] > 0;
        if (skipped)
        {
            _optimizer.ZeroGrad();
            _pendingBackward = 0;
            SkippedUpdates++;
            _nonFiniteStreak++;
            string cause;
            try
            {
                checks.ThrowIfAnyNonFinite();
                cause = $"the loss ({read[0]}) or the gradient norm ({read[11]}) is not finite";
            }
            catch (NonFiniteValueException ex)
            {
                cause = ex.Message;
            }
            _logger.LogWarning("Skipped update {Update} at step index {Step} of iteration {Iteration}: {Cause}", Updates, stepIndex, Iteration, cause);
            if (_nonFiniteStreak >= Options.MaxConsecutiveNonFiniteUpdates)
                throw new TrainingDivergedException(
                    $"Training stopped: {_nonFiniteStreak} updates in a row were not finite, the last at step index {stepIndex} of iteration {Iteration} " +
                    $"(update {Updates}): {cause}. The adapters keep the last finite weights; lower the learning rate or check the reward and the inputs.");
        }
        else if (boundary)
        {
            _optimizer.Step();
            _optimizer.ZeroGrad();
            _pendingBackward = 0;
            _nonFiniteStreak = 0;
        }

        var metrics = new TrainingStepMetrics(MethodName, Iteration, Updates, stepIndex, read[0], read[1], read[6], read[7], read[8],
            read[5], read[9], read[10], read[11], skipped, Samples, Sampler.Evaluations, _clock.Elapsed.TotalSeconds);
        Updates++;
        Latest = metrics;
        foreach (var sink in _sinks) sink.Write(metrics);
        Progress?.Report(new TrainingProgress(Samples, Options.SampleBudget, Iteration, metrics));
        return metrics;
    }

    /// <summary>Applies gradients still pending at the end of an iteration (so checkpoints hold none).</summary>
    internal void FlushPendingGradients()
    {
        if (_pendingBackward == 0) return;
        using var scope = NewDisposeScope();
        var norm = GradientNorm.Clip(_parameters, Options.MaxGradNorm);
        if (norm.isfinite().item<bool>()) _optimizer.Step();
        _optimizer.ZeroGrad();
        _pendingBackward = 0;
    }
}
