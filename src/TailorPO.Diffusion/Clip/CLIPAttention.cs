using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// Multi-head self-attention with transformers' CLIP key names (<c>q_proj</c>, <c>k_proj</c>,
/// <c>v_proj</c>, <c>out_proj</c>, all with bias). Scores are scaled by 1/sqrt(head size).
/// </summary>
internal sealed class CLIPAttention : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
#pragma warning restore IDE1006

    private readonly long _heads;
    private readonly long _headSize;
    private readonly bool _causal;

    /// <param name="hiddenSize">Model width.</param>
    /// <param name="heads">Head count (divides the width).</param>
    /// <param name="causal">True for the text tower: position i attends to positions &lt;= i.</param>
    public CLIPAttention(long hiddenSize, long heads, bool causal) : base(nameof(CLIPAttention))
    {
        _heads = heads;
        _headSize = hiddenSize / heads;
        _causal = causal;
        q_proj = Layers.Linear(hiddenSize, hiddenSize);
        k_proj = Layers.Linear(hiddenSize, hiddenSize);
        v_proj = Layers.Linear(hiddenSize, hiddenSize);
        out_proj = Layers.Linear(hiddenSize, hiddenSize);
        RegisterComponents();
    }

    /// <param name="hidden">[B, S, C].</param>
    /// <param name="additiveMask">
    /// Null, or a complete additive mask [B, 1, S, S] (causal part included) in the hidden dtype.
    /// With null the tower's own causal rule (if any) is applied by the attention kernel.
    /// </param>
    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        long batch = hidden.shape[0], length = hidden.shape[1], width = hidden.shape[2];
        using var q = SplitHeads(q_proj.forward(hidden), batch, length);
        using var k = SplitHeads(k_proj.forward(hidden), batch, length);
        using var v = SplitHeads(v_proj.forward(hidden), batch, length);
        using var attended = additiveMask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: _causal)
            : nn.functional.scaled_dot_product_attention(q, k, v, additiveMask);
        using var merged = attended.transpose(1, 2).reshape(batch, length, width);
        return out_proj.forward(merged);
    }

    private Tensor SplitHeads(Tensor projected, long batch, long length)
    {
        using (projected)
            return projected.view(batch, length, _heads, _headSize).transpose(1, 2);
    }
}
