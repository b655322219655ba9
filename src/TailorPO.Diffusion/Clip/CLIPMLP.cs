using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>The feed-forward block: <c>fc1</c>, the configured activation, <c>fc2</c>.</summary>
internal sealed class CLIPMLP : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006

    private readonly string _activation;

    public CLIPMLP(long hiddenSize, long intermediateSize, string activation) : base(nameof(CLIPMLP))
    {
        _activation = activation;
        fc1 = Layers.Linear(hiddenSize, intermediateSize);
        fc2 = Layers.Linear(intermediateSize, hiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var expanded = fc1.forward(hidden);
        using var activated = ClipActivation.Apply(_activation, expanded);
        return fc2.forward(activated);
    }
}
