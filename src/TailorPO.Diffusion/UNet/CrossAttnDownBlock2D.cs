using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>CrossAttnDownBlock2D</c>: (resnet, transformer) pairs, then an optional strided-conv
/// downsampler. Keys <c>resnets.N</c>, <c>attentions.N</c>, <c>downsamplers.0</c>.
/// </summary>
internal sealed class CrossAttnDownBlock2D : UNetDownBlock
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    /// <summary>Creates the block from the UNet's per-block settings.</summary>
    public CrossAttnDownBlock2D(UNetBlockSettings s, long inChannels, long outChannels, bool addDownsample)
        : base(nameof(CrossAttnDownBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, s.Layers)
            .Select(i => s.Resnet(i == 0 ? inChannels : outChannels, outChannels)).ToArray());
        attentions = new ModuleList<Transformer2DModel>(Enumerable.Range(0, s.Layers)
            .Select(_ => s.Transformer(outChannels)).ToArray());
        if (addDownsample)
            downsamplers = new ModuleList<Downsample2D>(new Downsample2D(outChannels, useConv: true, outChannels, s.DownsamplePadding));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> Skips) Forward(Tensor hiddenStates, Tensor temb, Tensor? encoderHiddenStates)
    {
        var skips = new List<Tensor>();
        var x = hiddenStates;
        for (int i = 0; i < resnets.Count; i++)
        {
            var resnet = resnets[i];
            var attention = attentions[i];
            x = Run(resnet, a => resnet.call(a[0], a[1]), x, temb);
            x = Run(attention, a => attention.call(a[0], a[1]), x, encoderHiddenStates);
            skips.Add(x);
        }
        if (downsamplers is not null)
        {
            foreach (var down in downsamplers) x = down.call(x);
            skips.Add(x);
        }
        return (x, skips);
    }
}
