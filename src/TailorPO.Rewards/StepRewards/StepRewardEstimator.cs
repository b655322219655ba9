using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.StepRewards;

/// <summary>
/// TailorPO's step-wise reward (Eq. 7 and 12): <c>r_t(c, x_t) ~= r(c, D(x0_hat(x_t)))</c> - decode the
/// predicted clean sample and score it with the final-image reward, so step rewards and final
/// rewards share one scale.
/// </summary>
/// <remarks>
/// <para>Gradient: when the input requires grad, the decoder and the reward run with autograd and the
/// result is differentiable with respect to it (TailorPO-G's guidance). Otherwise they run under
/// <c>no_grad</c>, so no graph is built through the reward model's or the decoder's parameters.</para>
/// <para>Batching: the candidates of one step are scored in ONE decoder call and ONE reward call
/// (<see cref="EstimateCandidates"/>, <see cref="ScoreCandidates"/>), so a stateful reward (running
/// normalisation) ranks them on one scale and the models run once on the larger batch.</para>
/// <para>Last step: when the candidates come from the last sampler step (t' &lt; 0) they ARE the final
/// samples x_0. Pass the candidates themselves as <c>predictedOriginal</c> to <see cref="Estimate"/> /
/// <see cref="EstimateCandidates"/>; <see cref="ScoreCandidates"/> does this by itself.</para>
/// </remarks>
public sealed class StepRewardEstimator : IStepRewardEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="decoder">D: the VAE decoder for latent models, <see cref="IdentityLatentDecoder"/> for pixel-space ones.</param>
    /// <param name="reward">The final-image reward r(c, x0).</param>
    public StepRewardEstimator(ILatentDecoder decoder, IRewardModel reward)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(reward);
        Decoder = decoder;
        Reward = reward;
    }

    /// <summary>The decoder D.</summary>
    public ILatentDecoder Decoder { get; }

    /// <inheritdoc />
    public IRewardModel Reward { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A bad shape or prompt count.</exception>
    /// <exception cref="NonFiniteValueException">The estimate is NaN or infinite.</exception>
    public Tensor Estimate(Tensor predictedOriginal, IReadOnlyList<string> prompts)
    {
        ValidateLatents(predictedOriginal, nameof(predictedOriginal), minimumRank: 2);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count != predictedOriginal.shape[0])
            throw new ArgumentException(
                $"prompts has {prompts.Count} prompt(s) but predictedOriginal holds {predictedOriginal.shape[0]} sample(s); pass one prompt per sample.",
                nameof(prompts));
        return DecodeAndScore(predictedOriginal, prompts);
    }

    /// <summary>
    /// Step rewards of K candidates per batch element in ONE decoder call and ONE reward call.
    /// </summary>
    /// <param name="candidatePredictedOriginals">x0_hat of each candidate, shape [K, B, C, h, w]
    /// (at the last step: the candidates themselves).</param>
    /// <param name="prompts">The B prompts of the batch (shared by the K candidates of an element).</param>
    /// <returns>Rewards, shape [K, B].</returns>
    public Tensor EstimateCandidates(Tensor candidatePredictedOriginals, IReadOnlyList<string> prompts)
    {
        ValidateLatents(candidatePredictedOriginals, nameof(candidatePredictedOriginals), minimumRank: 3);
        ArgumentNullException.ThrowIfNull(prompts);
        var k = (int)candidatePredictedOriginals.shape[0];
        var batch = candidatePredictedOriginals.shape[1];
        if (prompts.Count != batch)
            throw new ArgumentException(
                $"prompts has {prompts.Count} prompt(s) but candidatePredictedOriginals is [K={k}, B={batch}, ...]; pass the B prompts once (they are repeated for the K candidates).",
                nameof(prompts));
        using var scope = NewDisposeScope();
        var flat = candidatePredictedOriginals.flatten(0, 1);
        var rewards = DecodeAndScore(flat, RepeatPrompts(prompts, k));
        return rewards.reshape(k, batch).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Bad shapes or prompt count.</exception>
    public CandidateStepRewards ScoreCandidates(ISampler sampler, Tensor candidates, int stepIndex, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(condition);
        ValidateLatents(candidates, nameof(candidates), minimumRank: 3);
        var stepCount = sampler.Timesteps.Count;
        if (stepIndex < 0 || stepIndex >= stepCount)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex, $"stepIndex must index the sampler's {stepCount} timesteps.");
        var k = (int)candidates.shape[0];
        var batch = candidates.shape[1];
        if (condition.Prompts.Count != batch)
            throw new ArgumentException(
                $"condition has {condition.Prompts.Count} prompt(s) but candidates is [K={k}, B={batch}, ...]; the condition describes the B batch elements.",
                nameof(condition));

        using var scope = NewDisposeScope();
        using var gradMode = candidates.requires_grad ? null : no_grad();
        if (sampler.CandidateTimestep(stepIndex) is not { } noiseLevel)
        {
            var finalRewards = EstimateCandidates(candidates, condition.Prompts);
            return new CandidateStepRewards(finalRewards.MoveToOuterDisposeScope(), candidates.alias().MoveToOuterDisposeScope(), null, null);
        }

        var flat = candidates.flatten(0, 1);
        var repeated = RepeatCondition(condition, k);
        var noise = sampler.PredictNoiseAt(flat, noiseLevel, repeated);
        var predicted = sampler.PredictOriginalAt(flat, noiseLevel, noise);
        var shape = candidates.shape;
        var predictedOriginals = predicted.reshape(shape);
        var rewards = EstimateCandidates(predictedOriginals, condition.Prompts);
        // The eps serves the next sampling step only when that step runs at the same timestep.
        var reusable = stepIndex + 1 < stepCount && sampler.Timesteps[stepIndex + 1] == noiseLevel;
        return new CandidateStepRewards(
            rewards.MoveToOuterDisposeScope(),
            predictedOriginals.MoveToOuterDisposeScope(),
            reusable ? noise.reshape(shape).MoveToOuterDisposeScope() : null,
            reusable ? stepIndex + 1 : null);
    }

    /// <summary>
    /// The condition of a [K*B] batch built by flattening [K, B] candidates (k-major): prompts and
    /// embeddings repeated K times.
    /// </summary>
    public static DiffusionCondition RepeatCondition(DiffusionCondition condition, int k)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return condition.RepeatBatch(k);
    }

    private Tensor DecodeAndScore(Tensor predictedOriginal, IReadOnlyList<string> prompts)
    {
        using var scope = NewDisposeScope();
        using var gradMode = predictedOriginal.requires_grad ? null : no_grad();
        var images = Decoder.DecodeToImages(predictedOriginal);
        var rewards = Reward.Score(images, prompts);
        if (rewards.dim() != 1 || rewards.shape[0] != predictedOriginal.shape[0])
            throw new InvalidOperationException(
                $"Reward '{Reward.Name}' returned shape [{string.Join(", ", rewards.shape)}] for {predictedOriginal.shape[0]} images; expected [{predictedOriginal.shape[0]}].");
        NonFiniteValueException.ThrowIfNonFinite(rewards, $"the step reward ('{Reward.Name}' of the decoded x0_hat)");
        return rewards.MoveToOuterDisposeScope();
    }

    private static string[] RepeatPrompts(IReadOnlyList<string> prompts, int k)
    {
        var result = new string[prompts.Count * k];
        for (var i = 0; i < k; i++)
            for (var j = 0; j < prompts.Count; j++)
                result[i * prompts.Count + j] = prompts[j];
        return result;
    }

    private static void ValidateLatents(Tensor? latents, string name, int minimumRank)
    {
        ArgumentNullException.ThrowIfNull(latents, name);
        if (latents.dim() < minimumRank)
            throw new ArgumentException(
                $"{name} has shape [{string.Join(", ", latents.shape)}]; expected at least {minimumRank} dimensions ({(minimumRank == 3 ? "[K, B, C, h, w]" : "[B, C, h, w]")}).",
                name);
        if (latents.shape.Any(s => s < 1))
            throw new ArgumentException($"{name} has shape [{string.Join(", ", latents.shape)}]; every dimension must be at least 1.", name);
        if (!latents.is_floating_point())
            throw new ArgumentException($"{name} has dtype {latents.dtype}; expected a floating-point tensor.", name);
    }
}
