using TailorPO.Diffusion.Blocks;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>A UNet decoder stage: each resnet consumes one skip tensor from the encoder (last first).</summary>
internal abstract class UNetUpBlock : UNetBlock
{
    /// <summary>Creates the block.</summary>
    protected UNetUpBlock(string name) : base(name) { }

    /// <summary>Number of resnets = number of skip tensors consumed.</summary>
    public abstract int ResnetCount { get; }

    /// <summary>True when the block ends with an upsampler.</summary>
    public abstract bool Upsamples { get; }

    /// <summary>Runs the stage.</summary>
    /// <param name="hiddenStates">[B, prev, H, W].</param>
    /// <param name="skips">The <see cref="ResnetCount"/> skip tensors, in encoder order (the last is used first).</param>
    /// <param name="temb">Time embedding [B, temb].</param>
    /// <param name="encoderHiddenStates">Text [B, L, D] (ignored by blocks without attention).</param>
    /// <param name="upsampleSize">Explicit [H, W] for the upsampler, or null to double.</param>
    public abstract Tensor Forward(Tensor hiddenStates, IReadOnlyList<Tensor> skips, Tensor temb, Tensor? encoderHiddenStates, long[]? upsampleSize);

    /// <summary>
    /// The block's resnets, each over [hidden, skip]: the first takes the deeper block's output, the
    /// last consumes the deepest skip (<paramref name="inChannels"/>), as diffusers wires them.
    /// </summary>
    protected static ResnetBlock2D[] SkipResnets(UNetBlockSettings s, long inChannels, long prevOutputChannels, long outChannels) =>
        Enumerable.Range(0, s.Layers).Select(i =>
        {
            long skip = i == s.Layers - 1 ? inChannels : outChannels;
            long input = i == 0 ? prevOutputChannels : outChannels;
            return s.Resnet(input + skip, outChannels);
        }).ToArray();
}
