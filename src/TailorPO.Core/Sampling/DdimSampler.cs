using TailorPO.Core.Abstractions;
using TailorPO.Core.Internal;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using static TorchSharp.torch;

namespace TailorPO.Core.Sampling;

/// <summary>
/// Stochastic DDIM over any <see cref="INoisePredictor"/>: draws K candidates x_{t-1} from one x_t
/// (independent noise, one shared posterior), returns everything a preference trainer stores, reuses a
/// noise prediction the caller already paid for, and re-scores stored transitions under the current
/// weights. Classifier-free guidance follows the <see cref="DiffusionCondition"/> it is given.
/// </summary>
/// <remarks>
/// <see cref="Step"/> runs without autograd (it samples); <see cref="Score"/> and
/// <see cref="PredictNoise"/> keep the graph so losses can back-propagate into the network.
/// eta must be &gt; 0 because every step reports log-probabilities.
/// </remarks>
public sealed class DdimSampler : ISampler
{
    private readonly INoisePredictor _predictor;

    /// <summary>Creates the sampler.</summary>
    /// <param name="predictor">The noise network (e.g. a UNet with LoRA adapters).</param>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="options">Steps (paper: 20), eta (paper: 1.0, must be &gt; 0) and an optional spacing override.</param>
    /// <exception cref="ArgumentException">The options are invalid (the message lists every problem).</exception>
    public DdimSampler(INoisePredictor predictor, NoiseSchedule schedule, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(options);
        var failures = SamplingOptionsValidator.Check(options, nameof(options)).ToList();
        if (failures.Count > 0)
            throw new ArgumentException(string.Join(" ", failures), nameof(options));

        _predictor = predictor;
        Schedule = schedule;
        DdimTimesteps = new DdimTimesteps(schedule.Config, options.InferenceSteps, options.TimestepSpacing);
        StepMath = new DdimStepMath(schedule, DdimTimesteps);
        Eta = options.Eta;
    }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The inference timestep layout (with the previous-timestep rule).</summary>
    public DdimTimesteps DdimTimesteps { get; }

    /// <summary>The step arithmetic (posterior, log-probabilities) the sampler uses.</summary>
    public DdimStepMath StepMath { get; }

    /// <inheritdoc />
    public IReadOnlyList<long> Timesteps => DdimTimesteps.Values;

    /// <inheritdoc />
    public double Eta { get; }

    /// <inheritdoc />
    public Tensor PredictNoise(Tensor latents, int stepIndex, DiffusionCondition condition)
    {
        CheckLatents(latents, nameof(latents));
        using var scope = NewDisposeScope();
        var t = TimestepTensor(stepIndex, latents);
        return ClassifierFreeGuidance.Predict(_predictor, latents, t, condition).ReturnFrom(scope);
    }

    /// <inheritdoc />
    public Tensor PredictOriginal(Tensor latents, int stepIndex, Tensor noisePrediction)
    {
        CheckLatents(latents, nameof(latents));
        using var scope = NewDisposeScope();
        var t = TimestepTensor(stepIndex, latents);
        return StepMath.PredictOriginal(latents, t, noisePrediction).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public long? CandidateTimestep(int stepIndex)
    {
        CheckStepIndex(stepIndex);
        var previous = DdimTimesteps.PreviousTimestep(Timesteps[stepIndex]);
        return previous >= 0 ? previous : null;
    }

    /// <inheritdoc />
    public Tensor PredictNoiseAt(Tensor latents, long timestep, DiffusionCondition condition)
    {
        CheckLatents(latents, nameof(latents));
        CheckTimestep(timestep);
        using var scope = NewDisposeScope();
        var t = full(latents.shape[0], timestep, ScalarType.Int64, latents.device);
        return ClassifierFreeGuidance.Predict(_predictor, latents, t, condition).ReturnFrom(scope);
    }

    /// <inheritdoc />
    public Tensor PredictOriginalAt(Tensor latents, long timestep, Tensor noisePrediction)
    {
        CheckLatents(latents, nameof(latents));
        CheckTimestep(timestep);
        using var scope = NewDisposeScope();
        var t = full(latents.shape[0], timestep, ScalarType.Int64, latents.device);
        return StepMath.PredictOriginal(latents, t, noisePrediction).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <remarks>
    /// The K candidates come from one <c>randn([K, B, C, H, W])</c> draw on <paramref name="generator"/>,
    /// which must live on the latents' device. When <paramref name="noisePrediction"/> is given the model
    /// is not called and the same tensor is returned in <see cref="SamplerStep.NoisePrediction"/>.
    /// </remarks>
    public SamplerStep Step(Tensor latents, int stepIndex, DiffusionCondition condition, int candidates = 1,
        Generator? generator = null, Tensor? noisePrediction = null)
    {
        CheckLatents(latents, nameof(latents));
        ArgumentNullException.ThrowIfNull(condition);
        if (candidates < 1)
            throw new ArgumentOutOfRangeException(nameof(candidates), candidates, $"Argument 'candidates' must be >= 1; got {candidates}.");
        if (noisePrediction is not null)
        {
            TensorGuard.Floating(noisePrediction, nameof(noisePrediction));
            TensorGuard.SameShape(noisePrediction, nameof(noisePrediction), latents, nameof(latents));
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var t = TimestepTensor(stepIndex, latents);
        var eps = noisePrediction ?? ClassifierFreeGuidance.Predict(_predictor, latents, t, condition);
        var posterior = StepMath.Posterior(latents, t, eps, Eta);
        var drawn = DdimStepMath.Draw(posterior, candidates, generator);
        var logProbabilities = DdimStepMath.LogProbability(drawn, posterior.Mean, posterior.Sigma);

        return new SamplerStep(
            stepIndex,
            Timesteps[stepIndex],
            eps.ReturnFrom(scope),
            posterior.PredictedOriginal.MoveToOuterDisposeScope(),
            posterior.Mean.MoveToOuterDisposeScope(),
            posterior.Sigma.MoveToOuterDisposeScope(),
            drawn.MoveToOuterDisposeScope(),
            logProbabilities.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    /// <remarks>
    /// One model call with autograd on, at <c>Timesteps[transition.StepIndex]</c>, with the condition's
    /// guidance scale - which must be the one used when sampling, or the log-ratio at the first update
    /// is not ~0. The stored x_{t-1} is treated as data (detached).
    /// </remarks>
    public TransitionScore Score(SamplerTransition transition, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        ArgumentNullException.ThrowIfNull(condition);
        CheckLatents(transition.Latents, $"{nameof(transition)}.{nameof(SamplerTransition.Latents)}");
        TensorGuard.Floating(transition.NextLatents, $"{nameof(transition)}.{nameof(SamplerTransition.NextLatents)}");
        TensorGuard.SameShape(transition.NextLatents, $"{nameof(transition)}.{nameof(SamplerTransition.NextLatents)}",
            transition.Latents, $"{nameof(transition)}.{nameof(SamplerTransition.Latents)}");

        using var scope = NewDisposeScope();
        var t = TimestepTensor(transition.StepIndex, transition.Latents);
        var eps = ClassifierFreeGuidance.Predict(_predictor, transition.Latents, t, condition);
        var posterior = StepMath.Posterior(transition.Latents, t, eps, Eta);
        var logProbability = DdimStepMath.LogProbability(transition.NextLatents.detach(), posterior.Mean, posterior.Sigma);
        return new TransitionScore(
            posterior.Mean.MoveToOuterDisposeScope(),
            posterior.Sigma.MoveToOuterDisposeScope(),
            logProbability.MoveToOuterDisposeScope());
    }

    private Tensor TimestepTensor(int stepIndex, Tensor latents)
    {
        CheckStepIndex(stepIndex);
        return full(latents.shape[0], Timesteps[stepIndex], ScalarType.Int64, latents.device);
    }

    private void CheckStepIndex(int stepIndex)
    {
        if (stepIndex < 0 || stepIndex >= Timesteps.Count)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex,
                $"Argument 'stepIndex' must lie in [0, {Timesteps.Count - 1}] ({Timesteps.Count} DDIM steps); got {stepIndex}.");
    }

    private void CheckTimestep(long timestep)
    {
        if (timestep < 0 || timestep >= DdimTimesteps.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(timestep), timestep,
                $"Argument 'timestep' must lie in [0, {DdimTimesteps.NumTrainTimesteps - 1}]; got {timestep}.");
    }

    private static void CheckLatents(Tensor latents, string name)
    {
        TensorGuard.Floating(latents, name);
        TensorGuard.Rank(latents, 4, name, "[B, C, H, W] latents");
        if (latents.shape[0] < 1)
            throw new ArgumentException($"Argument '{name}' has an empty batch, shape {TensorGuard.Shape(latents)}.", name);
    }
}
