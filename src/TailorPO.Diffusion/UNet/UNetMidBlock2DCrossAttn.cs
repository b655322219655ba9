using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>UNetMidBlock2DCrossAttn</c>: resnet, then (transformer, resnet) pairs. Keys
/// <c>resnets.N</c>, <c>attentions.N</c>. Its resnets use <c>mid_block_scale_factor</c>.
/// </summary>
internal sealed class UNetMidBlock2DCrossAttn : UNetBlock
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
#pragma warning restore IDE1006

    /// <summary>Creates the block (one attention layer, as diffusers' default).</summary>
    public UNetMidBlock2DCrossAttn(UNetBlockSettings s, long channels, int attentionLayers = 1) : base(nameof(UNetMidBlock2DCrossAttn))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, attentionLayers + 1).Select(_ => s.Resnet(channels, channels)).ToArray());
        attentions = new ModuleList<Transformer2DModel>(Enumerable.Range(0, attentionLayers).Select(_ => s.Transformer(channels)).ToArray());
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    public Tensor Forward(Tensor hiddenStates, Tensor temb, Tensor? encoderHiddenStates)
    {
        var first = resnets[0];
        var x = Run(first, a => first.call(a[0], a[1]), hiddenStates, temb);
        for (int i = 0; i < attentions.Count; i++)
        {
            var attention = attentions[i];
            var resnet = resnets[i + 1];
            x = Run(attention, a => attention.call(a[0], a[1]), x, encoderHiddenStates);
            x = Run(resnet, a => resnet.call(a[0], a[1]), x, temb);
        }
        return x;
    }
}
