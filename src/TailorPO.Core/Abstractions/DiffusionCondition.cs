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

    /// <summary>
    /// The condition of a batch made of <paramref name="copies"/> stacked copies of these B elements
    /// (copy-major, as <c>cat([x, x, ...])</c> or <c>flatten(0, 1)</c> of [copies, B, ...] lays them out):
    /// prompts and embeddings repeated. This condition itself when <paramref name="copies"/> is 1. The
    /// repeated embeddings belong to the caller's dispose scope.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="copies"/> is below 1.</exception>
    public DiffusionCondition RepeatBatch(int copies)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        if (copies == 1)
            return this;
        var prompts = new string[Prompts.Count * copies];
        for (var c = 0; c < copies; c++)
            for (var j = 0; j < Prompts.Count; j++)
                prompts[c * Prompts.Count + j] = Prompts[j];
        return this with
        {
            Prompts = prompts,
            PromptEmbeddings = Repeat(PromptEmbeddings, copies),
            NegativeEmbeddings = NegativeEmbeddings is null ? null : Repeat(NegativeEmbeddings, copies),
        };
    }

    private static Tensor Repeat(Tensor batch, int copies)
    {
        var repeats = new long[batch.dim()];
        Array.Fill(repeats, 1L);
        repeats[0] = copies;
        return batch.repeat(repeats);
    }
}
