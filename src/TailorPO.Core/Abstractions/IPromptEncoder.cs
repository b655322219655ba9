namespace TailorPO.Core.Abstractions;

/// <summary>
/// Turns prompts into the <see cref="DiffusionCondition"/> the sampler and the noise predictor take: the text
/// encoder's embeddings, the empty-prompt embeddings for classifier-free guidance, and the guidance scale.
/// A Stable Diffusion pipeline implements it with its tokenizer and text encoder. Trainers pass the scale they
/// were configured with (<c>SamplingOptions.GuidanceScale</c>), so sampling and re-scoring cannot disagree.
/// </summary>
public interface IPromptEncoder
{
    /// <summary>Encodes a batch of prompts.</summary>
    /// <param name="prompts">B prompts.</param>
    /// <param name="guidanceScale">The CFG scale w; 1 disables guidance (no negative embeddings needed).</param>
    /// <returns>The condition; its tensors belong to the caller's dispose scope.</returns>
    DiffusionCondition Encode(IReadOnlyList<string> prompts, double guidanceScale);
}
