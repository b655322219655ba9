using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>BERT's post-norm output block: <c>LayerNorm(dense(x) + residual)</c> (<c>attention.output</c>, <c>output</c>).</summary>
internal sealed class BertDenseNorm : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
#pragma warning restore IDE1006

    public BertDenseNorm(long inFeatures, long hiddenSize, double eps) : base(nameof(BertDenseNorm))
    {
        dense = Layers.Linear(inFeatures, hiddenSize);
        LayerNorm = Layers.LayerNorm(hiddenSize, eps);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor residual)
    {
        using var projected = dense.forward(x);
        using var summed = projected + residual;
        return LayerNorm.forward(summed);
    }
}
