using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// diffusers' <c>CrossAttnUpBlock2D</c>: (resnet over [hidden, skip], transformer) pairs, then an
/// optional upsampler. Keys <c>resnets.N</c>, <c>attentions.N</c>, <c>upsamplers.0</c>.
/// </summary>
internal sealed class CrossAttnUpBlock2D : UNetUpBlock
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Upsample2D>? upsamplers;
#pragma warning restore IDE1006

    /// <summary>Creates the block from the UNet's per-block settings.</summary>
    /// <param name="s">Per-block settings (Layers = resnets in this block).</param>
    /// <param name="inChannels">Channels of the deepest skip this block consumes (its last resnet's skip).</param>
    /// <param name="prevOutputChannels">Channels coming from the previous (deeper) block.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="addUpsample">End with an upsampler.</param>
    public CrossAttnUpBlock2D(UNetBlockSettings s, long inChannels, long prevOutputChannels, long outChannels, bool addUpsample)
        : base(nameof(CrossAttnUpBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(SkipResnets(s, inChannels, prevOutputChannels, outChannels));
        attentions = new ModuleList<Transformer2DModel>(Enumerable.Range(0, s.Layers).Select(_ => s.Transformer(outChannels)).ToArray());
        if (addUpsample) upsamplers = new ModuleList<Upsample2D>(new Upsample2D(outChannels, useConv: true, outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int ResnetCount => resnets.Count;

    /// <inheritdoc />
    public override bool Upsamples => upsamplers is not null;

    /// <inheritdoc />
    public override Tensor Forward(Tensor hiddenStates, IReadOnlyList<Tensor> skips, Tensor temb, Tensor? encoderHiddenStates, long[]? upsampleSize)
    {
        if (skips.Count != resnets.Count)
            throw new ArgumentException($"this up block takes {resnets.Count} skip tensors; got {skips.Count}.", nameof(skips));
        var x = hiddenStates;
        for (int i = 0; i < resnets.Count; i++)
        {
            var resnet = resnets[i];
            var attention = attentions[i];
            x = cat(new[] { x, skips[skips.Count - 1 - i] }, 1);
            x = Run(resnet, a => resnet.call(a[0], a[1]), x, temb);
            x = Run(attention, a => attention.call(a[0], a[1]), x, encoderHiddenStates);
        }
        if (upsamplers is not null)
            foreach (var up in upsamplers) x = up.call(x, upsampleSize);
        return x;
    }
}
