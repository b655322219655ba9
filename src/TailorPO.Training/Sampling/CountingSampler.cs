using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Sampling;

/// <summary>
/// Counts noise-predictor evaluations (NFE) through an <see cref="ISampler"/>. The rule: one evaluation per sample per
/// model call at the guided level - a classifier-free-guided call on a doubled batch counts once per batch element
/// pair, i.e. B for B samples. Calls that reuse an eps already paid for (<c>Step</c> with a noise prediction) count 0.
/// The trainer hands this wrapper to the estimator and the refiner, so their calls are counted too.
/// </summary>
public sealed class CountingSampler(ISampler inner) : ISampler
{
    private readonly ISampler _inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Evaluations so far.</summary>
    public long Evaluations { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<long> Timesteps => _inner.Timesteps;

    /// <inheritdoc />
    public double Eta => _inner.Eta;

    /// <inheritdoc />
    public Tensor PredictNoise(Tensor latents, int stepIndex, DiffusionCondition condition)
    {
        Evaluations += latents.shape[0];
        return _inner.PredictNoise(latents, stepIndex, condition);
    }

    /// <inheritdoc />
    public Tensor PredictOriginal(Tensor latents, int stepIndex, Tensor noisePrediction) => _inner.PredictOriginal(latents, stepIndex, noisePrediction);

    /// <inheritdoc />
    public long? CandidateTimestep(int stepIndex) => _inner.CandidateTimestep(stepIndex);

    /// <inheritdoc />
    public Tensor PredictNoiseAt(Tensor latents, long timestep, DiffusionCondition condition)
    {
        Evaluations += latents.shape[0];
        return _inner.PredictNoiseAt(latents, timestep, condition);
    }

    /// <inheritdoc />
    public Tensor PredictOriginalAt(Tensor latents, long timestep, Tensor noisePrediction) => _inner.PredictOriginalAt(latents, timestep, noisePrediction);

    /// <inheritdoc />
    public SamplerStep Step(Tensor latents, int stepIndex, DiffusionCondition condition, int candidates = 1, Generator? generator = null, Tensor? noisePrediction = null)
    {
        if (noisePrediction is null) Evaluations += latents.shape[0];
        return _inner.Step(latents, stepIndex, condition, candidates, generator, noisePrediction);
    }

    /// <inheritdoc />
    public TransitionScore Score(SamplerTransition transition, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        Evaluations += transition.Latents.shape[0];
        return _inner.Score(transition, condition);
    }
}
