using TailorPO.Core.Abstractions;
using TailorPO.Core.Internal;
using static TorchSharp.torch;

namespace TailorPO.Core.Sampling;

/// <summary>
/// Classifier-free guidance: eps = eps_u + w (eps_c - eps_u), with eps_u conditioned on the
/// negative (empty) prompt. Both predictions come from ONE batched model call on
/// [x_t; x_t] with [negative; prompt] embeddings (diffusers' order), as DDPO and D3PO do.
/// </summary>
public static class ClassifierFreeGuidance
{
    /// <summary>eps_u + w (eps_c - eps_u).</summary>
    /// <param name="unconditional">eps_u, [B, ...].</param>
    /// <param name="conditional">eps_c, the shape of <paramref name="unconditional"/>.</param>
    /// <param name="scale">w (DDPO, D3PO and the paper use 5.0; 1 returns eps_c).</param>
    public static Tensor Combine(Tensor unconditional, Tensor conditional, double scale)
    {
        TensorGuard.Floating(unconditional, nameof(unconditional));
        TensorGuard.Floating(conditional, nameof(conditional));
        TensorGuard.SameShape(conditional, nameof(conditional), unconditional, nameof(unconditional));
        if (!double.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"Argument 'scale' must be finite; got {scale}.");
        using var scope = NewDisposeScope();
        return (unconditional + scale * (conditional - unconditional)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The guided noise prediction for x_t: one model call (batch 2B) when
    /// <see cref="DiffusionCondition.UsesGuidance"/>, otherwise one call on the prompt embeddings.
    /// </summary>
    /// <param name="predictor">The raw network.</param>
    /// <param name="latents">x_t, [B, C, H, W].</param>
    /// <param name="timesteps">t, [B] or 0-d.</param>
    /// <param name="condition">Embeddings [B, L, D], optional negative embeddings of the same shape, and the scale.</param>
    /// <returns>eps, the shape of <paramref name="latents"/>.</returns>
    public static Tensor Predict(INoisePredictor predictor, Tensor latents, Tensor timesteps, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(condition);
        TensorGuard.Floating(latents, nameof(latents));
        TensorGuard.Rank(latents, 4, nameof(latents), "[B, C, H, W] latents");
        TensorGuard.NotNull(timesteps, nameof(timesteps));
        var batch = latents.shape[0];
        if (timesteps.dim() > 1 || (timesteps.dim() == 1 && timesteps.shape[0] != batch))
            throw new ArgumentException(
                $"Argument 'timesteps' has shape {TensorGuard.Shape(timesteps)}; expected [{batch}] or a 0-d tensor.", nameof(timesteps));
        CheckEmbeddings(condition.PromptEmbeddings, $"{nameof(condition)}.{nameof(DiffusionCondition.PromptEmbeddings)}", batch);
        if (condition.Prompts.Count != batch)
            throw new ArgumentException(
                $"Argument 'condition.Prompts' has {condition.Prompts.Count} prompts; expected one per batch element ({batch}).", nameof(condition));
        if (!double.IsFinite(condition.GuidanceScale))
            throw new ArgumentException($"Argument 'condition.GuidanceScale' must be finite; got {condition.GuidanceScale}.", nameof(condition));

        using var scope = NewDisposeScope();
        var t = timesteps.dim() == 0 ? timesteps.reshape(1).expand(batch) : timesteps;
        Tensor eps;
        if (condition.UsesGuidance)
        {
            var negative = condition.NegativeEmbeddings!;
            var name = $"{nameof(condition)}.{nameof(DiffusionCondition.NegativeEmbeddings)}";
            CheckEmbeddings(negative, name, batch);
            TensorGuard.SameShape(negative, name, condition.PromptEmbeddings, $"{nameof(condition)}.{nameof(DiffusionCondition.PromptEmbeddings)}");
            var both = predictor.PredictNoise(cat([latents, latents]), cat([t, t]), cat([negative, condition.PromptEmbeddings]));
            CheckOutput(both, [2 * batch, .. latents.shape.Skip(1)]);
            var halves = both.chunk(2);
            eps = Combine(halves[0], halves[1], condition.GuidanceScale);
        }
        else
        {
            eps = predictor.PredictNoise(latents, t, condition.PromptEmbeddings);
            CheckOutput(eps, latents.shape);
        }
        return eps.ReturnFrom(scope);
    }

    private static void CheckEmbeddings(Tensor embeddings, string name, long batch)
    {
        TensorGuard.Floating(embeddings, name);
        if (embeddings.dim() != 3 || embeddings.shape[0] != batch)
            throw new ArgumentException(
                $"Argument '{name}' has shape {TensorGuard.Shape(embeddings)}; expected [{batch}, L, D] text embeddings.", "condition");
    }

    private static void CheckOutput(Tensor output, long[] expected)
    {
        if (output is null || !output.shape.SequenceEqual(expected))
            throw new InvalidOperationException(
                $"The noise predictor returned shape {(output is null ? "null" : TensorGuard.Shape(output))}; expected [{string.Join(", ", expected)}] (the latents' shape).");
    }
}
