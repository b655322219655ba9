using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>diffusers' <c>GEGLU</c>: <c>proj</c> doubles the width; output = a * gelu(gate) of its two halves.</summary>
internal sealed class GEGLU : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Linear proj;
#pragma warning restore IDE1006

    /// <summary>Creates the layer.</summary>
    /// <param name="dimIn">Input width.</param>
    /// <param name="dimOut">Output width (proj has 2 x dimOut outputs).</param>
    public GEGLU(long dimIn, long dimOut) : base(nameof(GEGLU))
    {
        proj = Layers.Linear(dimIn, dimOut * 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var parts = proj.call(input).chunk(2, dim: -1);
        var gate = parts[1];
        // diffusers computes gelu in float32 only on MPS; elsewhere in the input dtype.
        return (parts[0] * nn.functional.gelu(gate)).MoveToOuterDisposeScope();
    }
}
