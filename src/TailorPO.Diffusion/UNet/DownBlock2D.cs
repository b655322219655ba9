using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>diffusers' <c>DownBlock2D</c>: resnets only, then an optional downsampler. Keys <c>resnets.N</c>, <c>downsamplers.0</c>.</summary>
internal sealed class DownBlock2D : UNetDownBlock
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    /// <summary>Creates the block from the UNet's per-block settings.</summary>
    public DownBlock2D(UNetBlockSettings s, long inChannels, long outChannels, bool addDownsample) : base(nameof(DownBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, s.Layers)
            .Select(i => s.Resnet(i == 0 ? inChannels : outChannels, outChannels)).ToArray());
        if (addDownsample)
            downsamplers = new ModuleList<Downsample2D>(new Downsample2D(outChannels, useConv: true, outChannels, s.DownsamplePadding));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> Skips) Forward(Tensor hiddenStates, Tensor temb, Tensor? encoderHiddenStates)
    {
        var skips = new List<Tensor>();
        var x = hiddenStates;
        foreach (var resnet in resnets)
        {
            x = Run(resnet, a => resnet.call(a[0], a[1]), x, temb);
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
