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
        var built = new ResnetBlock2D[layers];
        for (var i = 0; i < layers; i++)
            built[i] = new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, tembChannels: null,
                groups: groups, eps: 1e-6, activation: activation);
        resnets = new ModuleList<ResnetBlock2D>(built);
        if (addDownsample) downsamplers = new ModuleList<Downsample2D>(new Downsample2D(outChannels, useConv: true, padding: 0));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var hidden = input;
        foreach (var resnet in resnets) hidden = Replace(hidden, resnet.call(hidden, null), input);
        if (downsamplers is not null)
            foreach (var down in downsamplers) hidden = Replace(hidden, down.call(hidden), input);
        return hidden;
    }

    // Frees each intermediate as soon as the next exists (never the caller's input).
    internal static Tensor Replace(Tensor previous, Tensor next, Tensor input)
    {
        if (!ReferenceEquals(previous, input)) previous.Dispose();
        return next;
    }
}
