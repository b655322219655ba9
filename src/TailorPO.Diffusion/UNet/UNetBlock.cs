using static TorchSharp.torch;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// Base of the UNet's down, mid and up blocks: holds the gradient-checkpointing switch and runs
/// each resnet / transformer through it (recomputed in the backward pass when on and training).
/// </summary>
internal abstract class UNetBlock : nn.Module
{
    /// <summary>Creates the block.</summary>
    protected UNetBlock(string name) : base(name) { }

    /// <summary>
    /// When true and the module is in training mode, the block's resnets and transformers keep no
    /// activations for the backward pass and recompute them there (less memory, ~1 extra forward).
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Runs <paramref name="layer"/> (the module <paramref name="owner"/>) on the inputs, checkpointed when enabled.</summary>
    protected Tensor Run(nn.Module owner, Func<Tensor[], Tensor> layer, params Tensor?[] inputs)
    {
        if (GradientCheckpointing && training && is_grad_enabled())
            return GradientCheckpoint.Run(owner, layer, inputs);
        return layer(inputs!);
    }
}
