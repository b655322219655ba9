using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>BasicTransformerBlock</c> (layer-norm variant, as in SD): pre-norm self-attention
/// (<c>norm1</c>, <c>attn1</c>), cross-attention on the text (<c>norm2</c>, <c>attn2</c>) and a GEGLU
/// MLP (<c>norm3</c>, <c>ff</c>), each added to the residual stream.
/// </summary>
internal sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm? norm2;
    private readonly Attention? attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;
#pragma warning restore IDE1006

    /// <summary>Creates the block.</summary>
    /// <param name="dim">Token width.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="headDim">Channels per head.</param>
    /// <param name="crossAttentionDim">Text-embedding width; null for a block without cross-attention.</param>
    /// <param name="dropout">Attention and MLP dropout.</param>
    /// <param name="attentionBias">Biases on to_q/to_k/to_v (false in SD).</param>
    /// <param name="upcastAttention">Attention in float32 for half inputs.</param>
    public BasicTransformerBlock(long dim, int heads, long headDim, long? crossAttentionDim, double dropout = 0.0,
        bool attentionBias = false, bool upcastAttention = false) : base(nameof(BasicTransformerBlock))
    {
        norm1 = Layers.LayerNorm(dim, 1e-5, elementwiseAffine: true);
        attn1 = new Attention(dim, null, heads, headDim, dropout, attentionBias, upcastAttention: upcastAttention);
        if (crossAttentionDim is long cross)
        {
            norm2 = Layers.LayerNorm(dim, 1e-5, elementwiseAffine: true);
            attn2 = new Attention(dim, cross, heads, headDim, dropout, attentionBias, upcastAttention: upcastAttention);
        }
        norm3 = Layers.LayerNorm(dim, 1e-5, elementwiseAffine: true);
        ff = new FeedForward(dim, dropout: dropout);
        RegisterComponents();
    }

    /// <summary>The self-attention (<c>attn1</c>).</summary>
    public Attention SelfAttention => attn1;

    /// <summary>The cross-attention (<c>attn2</c>), or null.</summary>
    public Attention? CrossAttention => attn2;

    /// <summary>Runs the block on tokens [B, N, dim] with text [B, L, cross] (null only without cross-attention).</summary>
    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates)
    {
        if (attn2 is not null && encoderHiddenStates is null)
            throw new ArgumentException("this transformer block cross-attends to the text: encoderHiddenStates [B, L, D] is required.", nameof(encoderHiddenStates));
        using var scope = NewDisposeScope();
        var x = hiddenStates;
        x = attn1.call(norm1.call(x), null) + x;
        if (attn2 is not null) x = attn2.call(norm2!.call(x), encoderHiddenStates) + x;
        x = ff.call(norm3.call(x)) + x;
        return x.MoveToOuterDisposeScope();
    }
}
