using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>The query/key/value projections and scaled dot-product attention of med.py's BertSelfAttention.</summary>
internal sealed class BertSelfAttention : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
#pragma warning restore IDE1006

    private readonly long _heads;

    public BertSelfAttention(long hiddenSize, long contextWidth, long heads) : base(nameof(BertSelfAttention))
    {
        _heads = heads;
        query = Layers.Linear(hiddenSize, hiddenSize);
        key = Layers.Linear(contextWidth, hiddenSize);
        value = Layers.Linear(contextWidth, hiddenSize);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor context, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1], width = query.weight!.shape[0];
        var q = Heads(query.forward(hidden), batch);
        var k = Heads(key.forward(context), batch);
        var v = Heads(value.forward(context), batch);
        var attended = additiveMask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v)
            : nn.functional.scaled_dot_product_attention(q, k, v, additiveMask);
        return attended.transpose(1, 2).reshape(batch, length, width).MoveToOuterDisposeScope();
    }

    private Tensor Heads(Tensor projected, long batch) => projected.view(batch, projected.shape[1], _heads, -1).transpose(1, 2);
}
