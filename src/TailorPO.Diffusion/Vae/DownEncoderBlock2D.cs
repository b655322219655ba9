using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// diffusers' <c>DownEncoderBlock2D</c>: <c>resnets.N</c> (no time embedding), then optionally
/// <c>downsamplers.0</c> (stride-2 conv with the VAE's asymmetric right/bottom padding).
/// </summary>
internal sealed class DownEncoderBlock2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;
#pragma warning restore IDE1006

    public DownEncoderBlock2D(long inChannels, long outChannels, long layers, long groups, string activation, bool addDownsample)
        : base(nameof(DownEncoderBlock2D))
    {
        resnets = VaeChain.Resnets(inChannels, outChannels, layers, groups, activation);
        if (addDownsample) downsamplers = new ModuleList<Downsample2D>(new Downsample2D(outChannels, useConv: true, padding: 0));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var hidden = VaeChain.RunResnets(resnets, input);
        if (downsamplers is not null)
            foreach (var down in downsamplers) hidden = VaeChain.Replace(hidden, down.call(hidden), input);
        return hidden;
    }
}
