using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Vae;

/// <summary>
/// diffusers' <c>UpDecoderBlock2D</c>: <c>resnets.N</c> (no time embedding), then optionally
/// <c>upsamplers.0</c> (nearest x2 and a 3x3 conv).
/// </summary>
internal sealed class UpDecoderBlock2D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;
#pragma warning restore IDE1006

    public UpDecoderBlock2D(long inChannels, long outChannels, long layers, long groups, string activation, bool addUpsample)
        : base(nameof(UpDecoderBlock2D))
    {
        resnets = VaeChain.Resnets(inChannels, outChannels, layers, groups, activation);
        if (addUpsample) upsamplers = new ModuleList<Upsample2D>(new Upsample2D(outChannels, useConv: true));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var hidden = VaeChain.RunResnets(resnets, input);
        if (upsamplers is not null)
            foreach (var up in upsamplers) hidden = VaeChain.Replace(hidden, up.call(hidden), input);
        return hidden;
    }
}
