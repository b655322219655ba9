using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Clip;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>BERT's <c>intermediate</c>: <c>act(dense(x))</c>.</summary>
internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear dense;
#pragma warning restore IDE1006

    private readonly string _activation;

    public BertIntermediate(long hiddenSize, long intermediateSize, string activation) : base(nameof(BertIntermediate))
    {
        _activation = activation;
        dense = Layers.Linear(hiddenSize, intermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var projected = dense.forward(hidden);
        return ClipActivation.Apply(_activation, projected);
    }
}
