using TailorPO.Diffusion.Blocks;
using TailorPO.Diffusion.Clip;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// One med.py BertLayer in BLIP's multimodal mode: self-attention, cross-attention to the image tokens, then the
/// feed-forward block <c>output.LayerNorm(output.dense(act(intermediate.dense(x))) + x)</c>.
/// </summary>
internal sealed class BertLayer : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly BertAttention attention;
    private readonly BertAttention crossattention;
    private readonly BertIntermediate intermediate;
    private readonly BertDenseNorm output;
#pragma warning restore IDE1006

    public BertLayer(ImageRewardConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config.HiddenSize, config.HiddenSize, config.NumAttentionHeads, config.TextLayerNormEps);
        crossattention = new BertAttention(config.HiddenSize, config.VisionWidth, config.NumAttentionHeads, config.TextLayerNormEps);
        intermediate = new BertIntermediate(config.HiddenSize, config.IntermediateSize, config.HiddenAct);
        output = new BertDenseNorm(config.IntermediateSize, config.HiddenSize, config.TextLayerNormEps);
        RegisterComponents();
    }

    /// <param name="hidden">[B, L, H].</param>
    /// <param name="selfMask">[B, 1, 1, L] additive padding mask.</param>
    /// <param name="imageTokens">[B, S, Dv]; every image token is attended (the cross mask is zero).</param>
    public Tensor Forward(Tensor hidden, Tensor selfMask, Tensor imageTokens)
    {
        using var attended = attention.Forward(hidden, hidden, selfMask);
        using var crossed = crossattention.Forward(attended, imageTokens, null);
        using var expanded = intermediate.forward(crossed);
        return output.Forward(expanded, crossed);
    }
}
