using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>A UNet encoder stage: returns its output and the skip tensors it hands to the decoder.</summary>
internal abstract class UNetDownBlock : UNetBlock
{
    /// <summary>Creates the block.</summary>
    protected UNetDownBlock(string name) : base(name) { }

    /// <summary>Runs the stage.</summary>
    /// <param name="hiddenStates">[B, in, H, W].</param>
    /// <param name="temb">Time embedding [B, temb].</param>
    /// <param name="encoderHiddenStates">Text [B, L, D] (ignored by blocks without attention).</param>
    /// <returns>The output and one skip tensor per resnet (and per downsampler).</returns>
    public abstract (Tensor Output, IReadOnlyList<Tensor> Skips) Forward(Tensor hiddenStates, Tensor temb, Tensor? encoderHiddenStates);
}
