using TailorPO.Diffusion.Blocks;

namespace TailorPO.Diffusion.UNet;

/// <summary>
/// The settings one UNet block is built with (diffusers' <c>get_down_block</c>/<c>get_up_block</c>
/// arguments), resolved from the config for that block.
/// </summary>
/// <param name="Layers">Resnets (and transformers) in the block.</param>
/// <param name="TransformerLayers">Transformer blocks per attention.</param>
/// <param name="TembChannels">Time-embedding width.</param>
/// <param name="ResnetEps">GroupNorm epsilon of the resnets.</param>
/// <param name="ResnetGroups">GroupNorm groups.</param>
/// <param name="Activation">Activation name.</param>
/// <param name="ResnetOutputScaleFactor">Output scale of the resnets.</param>
/// <param name="ResnetSkipTimeAct">Skip the activation before the time projection.</param>
/// <param name="ResnetTimeScaleShift">"default" or "scale_shift".</param>
/// <param name="Dropout">Dropout.</param>
/// <param name="Heads">Attention heads (diffusers' misnamed <c>attention_head_dim</c>).</param>
/// <param name="CrossAttentionDim">Text-embedding width.</param>
/// <param name="UseLinearProjection">Linear projections in the transformers.</param>
/// <param name="UpcastAttention">Attention in float32 for half inputs.</param>
/// <param name="DownsamplePadding">Padding of the downsampling convolution.</param>
internal sealed record UNetBlockSettings(
    int Layers, int TransformerLayers, long TembChannels, double ResnetEps, long ResnetGroups, string Activation,
    double ResnetOutputScaleFactor, bool ResnetSkipTimeAct, string ResnetTimeScaleShift, double Dropout,
    int Heads, long CrossAttentionDim, bool UseLinearProjection, bool UpcastAttention, long DownsamplePadding)
{
    /// <summary>A resnet with these settings.</summary>
    public ResnetBlock2D Resnet(long inChannels, long outChannels) =>
        new(inChannels, outChannels, TembChannels, ResnetGroups, null, ResnetEps, Dropout, Activation,
            ResnetOutputScaleFactor, ResnetSkipTimeAct, ResnetTimeScaleShift);

    /// <summary>A transformer with these settings over <paramref name="channels"/> channels (head size = channels / heads).</summary>
    public Transformer2DModel Transformer(long channels) =>
        new(Heads, channels / Heads, channels, TransformerLayers, CrossAttentionDim, ResnetGroups,
            UseLinearProjection, UpcastAttention, Dropout);
}
