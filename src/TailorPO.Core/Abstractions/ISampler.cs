using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Runs DDIM denoising steps over an <see cref="INoisePredictor"/> and exposes everything a
/// preference trainer must store and re-score: candidates drawn from ONE x_t, their
/// log-probabilities, the posterior mean, sigma and the predicted clean sample x0_hat.
/// Every random draw takes the caller's <see cref="Generator"/>.
/// </summary>
public interface ISampler
{
    /// <summary>The inference timesteps, first (noisiest) to last, e.g. 951, 901, ..., 1 for 20 steps.</summary>
    IReadOnlyList<long> Timesteps { get; }

    /// <summary>The DDIM eta the sampler uses (log-probabilities need eta &gt; 0).</summary>
    double Eta { get; }

    /// <summary>
    /// The classifier-free-guided noise prediction at <c>Timesteps[stepIndex]</c> (one model call,
    /// batch doubled when guidance is on).
    /// </summary>
    Tensor PredictNoise(Tensor latents, int stepIndex, DiffusionCondition condition);

    /// <summary>x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) at <c>Timesteps[stepIndex]</c>.</summary>
    Tensor PredictOriginal(Tensor latents, int stepIndex, Tensor noisePrediction);

    /// <summary>
    /// The timestep t' whose noise level the samples x_{t-1} drawn at <paramref name="stepIndex"/> carry (the
    /// posterior's previous timestep), or null when they are the final samples (t' &lt; 0). With "leading" and
    /// "trailing" spacing t' is <c>Timesteps[stepIndex + 1]</c>; with "linspace" it can differ, and x0_hat of a
    /// candidate must then be evaluated at t', not at the next inference timestep.
    /// </summary>
    long? CandidateTimestep(int stepIndex);

    /// <summary>The classifier-free-guided noise prediction at an explicit timestep (one model call).</summary>
    Tensor PredictNoiseAt(Tensor latents, long timestep, DiffusionCondition condition);

    /// <summary>x0_hat at an explicit timestep.</summary>
    Tensor PredictOriginalAt(Tensor latents, long timestep, Tensor noisePrediction);

    /// <summary>
    /// One DDIM step from x_t: draws <paramref name="candidates"/> samples of x_{t-1} from the
    /// same posterior (independent noise), with their log-probabilities.
    /// </summary>
    /// <param name="latents">x_t, shape [B, C, H, W].</param>
    /// <param name="stepIndex">Index into <see cref="Timesteps"/>.</param>
    /// <param name="condition">Prompts and embeddings.</param>
    /// <param name="candidates">K &gt;= 1 candidates per batch element.</param>
    /// <param name="generator">The run's generator; null uses torch's global generator.</param>
    /// <param name="noisePrediction">A CFG-combined eps already computed for x_t (e.g. the preferred
    /// candidate's evaluation from the previous step's step-reward estimate); null calls the model.</param>
    SamplerStep Step(Tensor latents, int stepIndex, DiffusionCondition condition, int candidates = 1,
        Generator? generator = null, Tensor? noisePrediction = null);

    /// <summary>
    /// Re-scores a stored transition under the CURRENT weights (with autograd): the posterior mean
    /// of x_t and the log-probability of the stored x_{t-1}.
    /// </summary>
    TransitionScore Score(SamplerTransition transition, DiffusionCondition condition);
}

/// <summary>The outcome of one sampler step. Tensors belong to the caller's dispose scope.</summary>
/// <param name="StepIndex">Index into the sampler's timesteps.</param>
/// <param name="Timestep">The timestep t of x_t.</param>
/// <param name="NoisePrediction">CFG-combined eps for x_t, [B, C, H, W].</param>
/// <param name="PredictedOriginal">x0_hat(x_t), [B, C, H, W].</param>
/// <param name="Mean">Posterior mean mu(x_t), [B, C, H, W].</param>
/// <param name="Sigma">Posterior standard deviation, [B].</param>
/// <param name="Candidates">x_{t-1} candidates, [K, B, C, H, W].</param>
/// <param name="LogProbabilities">Element-mean log p(x_{t-1} | x_t) of each candidate, [K, B].</param>
public sealed record SamplerStep(
    int StepIndex,
    long Timestep,
    Tensor NoisePrediction,
    Tensor PredictedOriginal,
    Tensor Mean,
    Tensor Sigma,
    Tensor Candidates,
    Tensor LogProbabilities);

/// <summary>A stored transition x_t -&gt; x_{t-1}, enough to re-score it later.</summary>
/// <param name="StepIndex">Index into the sampler's timesteps.</param>
/// <param name="Latents">x_t, [B, C, H, W].</param>
/// <param name="NextLatents">The chosen x_{t-1}, [B, C, H, W].</param>
/// <param name="LogProbability">log p(x_{t-1} | x_t) when it was sampled, [B] (detached).</param>
public sealed record SamplerTransition(int StepIndex, Tensor Latents, Tensor NextLatents, Tensor LogProbability);

/// <summary>A transition re-scored under the current weights.</summary>
/// <param name="Mean">Posterior mean mu_theta(x_t), [B, C, H, W].</param>
/// <param name="Sigma">Posterior standard deviation, [B].</param>
/// <param name="LogProbability">Element-mean log p_theta(x_{t-1} | x_t), [B], differentiable.</param>
public sealed record TransitionScore(Tensor Mean, Tensor Sigma, Tensor LogProbability);
