using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// What a sample is conditioned on: the prompts, their text embeddings, and for classifier-free
/// guidance the unconditional (negative-prompt) embeddings and the guidance scale.
/// The tensors are owned by the caller; the library never disposes them.
/// </summary>
/// <param name="Prompts">One prompt per batch element (rewards such as CLIP score read them).</param>
/// <param name="PromptEmbeddings">Text encoder last hidden states, shape [B, L, D].</param>
/// <param name="NegativeEmbeddings">Embeddings of the empty / negative prompt, shape [B, L, D]; null disables guidance.</param>
/// <param name="GuidanceScale">CFG scale w in eps_u + w (eps_c - eps_u); 1 means no guidance. DDPO, D3PO and the paper use 5.</param>
public sealed record DiffusionCondition(
    IReadOnlyList<string> Prompts,
    Tensor PromptEmbeddings,
    Tensor? NegativeEmbeddings = null,
    double GuidanceScale = 1.0)
{
    /// <summary>True when classifier-free guidance changes the prediction.</summary>
    public bool UsesGuidance => NegativeEmbeddings is not null && GuidanceScale != 1.0;
}
