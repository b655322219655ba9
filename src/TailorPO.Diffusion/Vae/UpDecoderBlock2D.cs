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
        var built = new ResnetBlock2D[layers];
        for (var i = 0; i < layers; i++)
            built[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, tembChannels: null,
                groups: groups, eps: 1e-6, activation: activation);
        resnets = new ModuleList<ResnetBlock2D>(built);
        if (addUpsample) upsamplers = new ModuleList<Upsample2D>(new Upsample2D(outChannels, useConv: true));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var hidden = input;
        foreach (var resnet in resnets) hidden = DownEncoderBlock2D.Replace(hidden, resnet.call(hidden, null), input);
        if (upsamplers is not null)
            foreach (var up in upsamplers) hidden = DownEncoderBlock2D.Replace(hidden, up.call(hidden), input);
        return hidden;
    }
}
