using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// The module tree of ImageReward.pt (<c>blip.visual_encoder</c>, <c>blip.text_encoder</c>, <c>mlp.layers</c>), whose
/// names are the checkpoint's except the ViT blocks (mapped at load). The raw score of pixel values and tokens is
/// <c>mlp(text_encoder(ids, mask, visual_encoder(pixels))[:, 0])</c>.
/// </summary>
internal sealed class ImageRewardNetwork : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly BlipTowers blip;
    private readonly ImageRewardMlp mlp;
#pragma warning restore IDE1006

    public ImageRewardNetwork(ImageRewardConfig config) : base(nameof(ImageRewardNetwork))
    {
        config.Validate();
        Config = config;
        blip = new BlipTowers(config);
        mlp = new ImageRewardMlp(config.HiddenSize);
        RegisterComponents();
    }

    public ImageRewardConfig Config { get; }

    /// <summary>The image tokens [B, 1 + patches, Dv] of normalised pixel values in the weights' dtype.</summary>
    public Tensor ImageEmbeds(Tensor pixelValues) => blip.visual_encoder.forward(pixelValues);

    /// <summary>The MLP input: the [CLS] position of the multimodal text encoder, [B, H].</summary>
    public Tensor MlpInput(Tensor inputIds, Tensor attentionMask, Tensor imageEmbeds)
    {
        using var hidden = blip.text_encoder.Forward(inputIds, attentionMask, imageEmbeds);
        return hidden.select(1, 0);
    }

    /// <summary>The raw MLP output [B, 1].</summary>
    public Tensor Mlp(Tensor features) => mlp.forward(features);

    /// <summary>BLIP_Pretrain's towers that the score uses.</summary>
    internal sealed class BlipTowers : nn.Module
    {
#pragma warning disable IDE1006 // field names are state-dict keys
        internal readonly BlipVisionEncoder visual_encoder;
        internal readonly BertTextEncoder text_encoder;
#pragma warning restore IDE1006

        public BlipTowers(ImageRewardConfig config) : base(nameof(BlipTowers))
        {
            visual_encoder = new BlipVisionEncoder(config);
            text_encoder = new BertTextEncoder(config);
            RegisterComponents();
        }
    }
}
