using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Clip;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// BLIP's ViT (<c>models/vit.py</c> VisionTransformer): patch convolution with bias, class token prepended,
/// learned position embedding, pre-norm blocks (the CLIP encoder layers: the maths is the same, BLIP's fused
/// <c>qkv</c> is split at load), and a final LayerNorm over every token. No LayerNorm before the blocks.
/// </summary>
internal sealed class BlipVisionEncoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Conv2dLayer patch_embedding;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly CLIPEncoder encoder;
    private readonly LayerNorm norm;
#pragma warning restore IDE1006

    public BlipVisionEncoder(ImageRewardConfig config) : base(nameof(BlipVisionEncoder))
    {
        var width = config.VisionWidth;
        patch_embedding = new Conv2dLayer(3, width, config.PatchSize, stride: config.PatchSize, hasBias: true);
        cls_token = SkipInitScope.Current is { } scope ? scope.Empty(1, 1, width) : new Parameter(zeros(1, 1, width));
        pos_embed = SkipInitScope.Current is { } again ? again.Empty(1, config.NumPositions, width) : new Parameter(zeros(1, config.NumPositions, width));
        encoder = new CLIPEncoder(config.VisionLayers, width, config.VisionMlpWidth, config.VisionHeads, "gelu", config.VisionLayerNormEps, causal: false);
        norm = Layers.LayerNorm(width, config.VisionLayerNormEps);
        RegisterComponents();
    }

    /// <param name="pixelValues">[B, 3, S, S] normalised, in the weights' dtype.</param>
    /// <returns>Every token after the final norm, [B, 1 + patches, width].</returns>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embedding.forward(pixelValues).flatten(2).transpose(1, 2);
        var tokens = cat([cls_token.expand(pixelValues.shape[0], -1, -1), patches], 1) + pos_embed;
        var encoded = encoder.Forward(tokens, null, null);
        return norm.forward(encoded).MoveToOuterDisposeScope();
    }
}
