using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>FeedForward</c> with the GEGLU activation (SD's transformer MLP):
/// <c>net.0</c> = GEGLU (<c>net.0.proj</c>: Linear(dim, 2 * inner)), <c>net.1</c> = Dropout,
/// <c>net.2</c> = Linear(inner, dim). GEGLU = first half * gelu(second half).
/// </summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<nn.Module<Tensor, Tensor>> net;
#pragma warning restore IDE1006

    /// <summary>Creates the MLP.</summary>
    /// <param name="dim">Input and output width.</param>
    /// <param name="mult">inner width = mult * dim.</param>
    /// <param name="dropout">Dropout after GEGLU.</param>
    public FeedForward(long dim, int mult = 4, double dropout = 0.0) : base(nameof(FeedForward))
    {
        long inner = dim * mult;
        net = new ModuleList<nn.Module<Tensor, Tensor>>(new GEGLU(dim, inner), nn.Dropout(dropout), Layers.Linear(inner, dim));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var layer in net) x = layer.call(x);
        return x.MoveToOuterDisposeScope();
    }
}
