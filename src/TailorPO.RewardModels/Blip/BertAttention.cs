using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// med.py's BertAttention, self- or cross-attention: <c>self.query</c> from the text, <c>self.key</c> /
/// <c>self.value</c> from the text or (cross) from the image tokens; scores divided by sqrt(head size), an
/// additive mask; then the post-norm output <c>output.LayerNorm(output.dense(context) + hidden)</c>.
/// </summary>
internal sealed class BertAttention : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly BertSelfAttention self;
    private readonly BertDenseNorm output;
#pragma warning restore IDE1006

    public BertAttention(long hiddenSize, long contextWidth, long heads, double eps) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(hiddenSize, contextWidth, heads);
        output = new BertDenseNorm(hiddenSize, hiddenSize, eps);
        RegisterComponents();
    }

    /// <param name="hidden">[B, L, H] text states.</param>
    /// <param name="context">[B, S, C] keys/values source (the text itself for self-attention).</param>
    /// <param name="additiveMask">Null or [B, 1, 1, S] in the hidden dtype.</param>
    public Tensor Forward(Tensor hidden, Tensor context, Tensor? additiveMask)
    {
        using var attended = self.Forward(hidden, context, additiveMask);
        return output.Forward(attended, hidden);
    }
}
