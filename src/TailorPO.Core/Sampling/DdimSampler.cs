using TailorPO.Core.Abstractions;
using TailorPO.Core.Internal;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Core.Threading;
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
/// A sampler built from <see cref="SamplingOptions"/> needs eta &gt; 0 because every step reports
/// log-probabilities. Plain generation (<see cref="ForGeneration"/>, <see cref="Advance"/>,
/// <see cref="Denoise"/>) also takes eta = 0, deterministic DDIM: sigma is 0 and no noise is drawn;
/// such a sampler refuses <see cref="Step"/> and <see cref="Score"/>, whose log-probabilities would be undefined.
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

    private DdimSampler(INoisePredictor predictor, NoiseSchedule schedule, DdimTimesteps timesteps, double eta)
    {
        _predictor = predictor;
        Schedule = schedule;
        DdimTimesteps = timesteps;
        StepMath = new DdimStepMath(schedule, timesteps);
        Eta = eta;
    }

    /// <summary>
    /// A sampler for plain generation (no log-probabilities needed): any eta in [0, 1], eta = 0 being
    /// deterministic DDIM (diffusers' default). With eta = 0, <see cref="Step"/> and <see cref="Score"/>
    /// refuse to run; <see cref="Advance"/> and <see cref="Denoise"/> work for every eta.
    /// </summary>
    /// <param name="predictor">The noise network.</param>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="inferenceSteps">Number of DDIM steps (&gt;= 1).</param>
    /// <param name="eta">DDIM eta in [0, 1].</param>
    /// <param name="timestepSpacing">Overrides the scheduler config's <c>timestep_spacing</c>; null keeps it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inferenceSteps"/> &lt; 1 or eta outside [0, 1].</exception>
    public static DdimSampler ForGeneration(INoisePredictor predictor, NoiseSchedule schedule, int inferenceSteps, double eta = 0,
        TimestepSpacing? timestepSpacing = null)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(schedule);
        if (inferenceSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps, $"Argument 'inferenceSteps' must be >= 1; got {inferenceSteps}.");
        DdimStepMath.CheckEta(eta, requirePositive: false);
        return new DdimSampler(predictor, schedule, new DdimTimesteps(schedule.Config, inferenceSteps, timestepSpacing), eta);
    }

    /// <summary>True when steps have log-probabilities (eta &gt; 0), so <see cref="Step"/> and <see cref="Score"/> can run.</summary>
    public bool ProvidesLogProbabilities => Eta > 0;

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
        RequireLogProbabilities(nameof(Step));
        CheckNoisePrediction(noisePrediction, latents);

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (eps, posterior) = Posterior(latents, stepIndex, condition, noisePrediction);
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
        RequireLogProbabilities(nameof(Score));
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

    /// <summary>
    /// One DDIM step for plain generation, without log-probabilities: x_{t-1} = mu + sigma z with z from
    /// <paramref name="generator"/> when eta &gt; 0 (the same draw as <see cref="Step"/> with one candidate),
    /// or the posterior mean when eta = 0 (no draw). No autograd.
    /// </summary>
    /// <param name="latents">x_t, [B, C, H, W].</param>
    /// <param name="stepIndex">Index into <see cref="Timesteps"/>.</param>
    /// <param name="condition">Prompts and embeddings.</param>
    /// <param name="generator">The run's generator (used only when eta &gt; 0); null uses torch's global generator.</param>
    /// <param name="noisePrediction">A CFG-combined eps already computed for x_t; null calls the model.</param>
    /// <returns>x_{t-1}, [B, C, H, W], in the caller's dispose scope.</returns>
    public Tensor Advance(Tensor latents, int stepIndex, DiffusionCondition condition, Generator? generator = null, Tensor? noisePrediction = null)
    {
        CheckLatents(latents, nameof(latents));
        ArgumentNullException.ThrowIfNull(condition);
        CheckNoisePrediction(noisePrediction, latents);

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (_, posterior) = Posterior(latents, stepIndex, condition, noisePrediction);
        var next = Eta > 0 ? DdimStepMath.Draw(posterior, 1, generator)[0] : posterior.Mean;
        return next.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs every step from x_T to x_0 with <see cref="Advance"/> (one dispose scope per step, no autograd),
    /// checking <paramref name="cancellationToken"/> before each step.
    /// </summary>
    /// <param name="initialLatents">x_T, [B, C, H, W] (not disposed).</param>
    /// <param name="condition">Prompts and embeddings.</param>
    /// <param name="generator">The run's generator (used only when eta &gt; 0).</param>
    /// <param name="stepCompleted">Called after each step with (step index, timestep).</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <returns>x_0, in the caller's dispose scope.</returns>
    /// <exception cref="OperationCanceledException">Cancelled between steps.</exception>
    public Tensor Denoise(Tensor initialLatents, DiffusionCondition condition, Generator? generator = null,
        Action<int, long>? stepCompleted = null, CancellationToken cancellationToken = default)
    {
        CheckLatents(initialLatents, nameof(initialLatents));
        ArgumentNullException.ThrowIfNull(condition);
        using var scope = NewDisposeScope();
        var latents = initialLatents.alias();
        for (var i = 0; i < Timesteps.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (FinalizerGate.Close()) // no operand freed under a native call (FinalizerGate); the callback runs outside
            using (NewDisposeScope())
            {
                var next = Advance(latents, i, condition, generator).MoveToOuterDisposeScope();
                latents.Dispose(); // memory stays flat over the steps
                latents = next;
            }
            stepCompleted?.Invoke(i, Timesteps[i]);
        }
        return latents.MoveToOuterDisposeScope();
    }

    private void RequireLogProbabilities(string operation)
    {
        if (!ProvidesLogProbabilities)
            throw new InvalidOperationException(
                $"DdimSampler.{operation} reports log-probabilities, which are undefined at eta = 0 (sigma_t = 0, deterministic DDIM). " +
                "Use Advance or Denoise for plain generation, or build the sampler with eta > 0 (the paper, DDPO and D3PO use 1.0).");
    }

    /// <summary>The CFG-combined eps of x_t (the given one, or one model call) and its posterior, in the caller's scope.</summary>
    private (Tensor Eps, DdimPosterior Posterior) Posterior(Tensor latents, int stepIndex, DiffusionCondition condition, Tensor? noisePrediction)
    {
        var t = TimestepTensor(stepIndex, latents);
        var eps = noisePrediction ?? ClassifierFreeGuidance.Predict(_predictor, latents, t, condition);
        return (eps, StepMath.Posterior(latents, t, eps, Eta));
    }

    private static void CheckNoisePrediction(Tensor? noisePrediction, Tensor latents)
    {
        if (noisePrediction is null) return;
        TensorGuard.Floating(noisePrediction, nameof(noisePrediction));
        TensorGuard.SameShape(noisePrediction, nameof(noisePrediction), latents, nameof(latents));
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
