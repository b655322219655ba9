using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// BLIP's <c>text_encoder</c> (med.py BertModel without pooler, <c>add_pooling_layer=False</c>) in multimodal mode:
/// embeddings, then layers that self-attend over the text and cross-attend to the image tokens.
/// </summary>
internal sealed class BertTextEncoder : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly BertEmbeddings embeddings;
    private readonly BertLayerStack encoder;
#pragma warning restore IDE1006

    public BertTextEncoder(ImageRewardConfig config) : base(nameof(BertTextEncoder))
    {
        embeddings = new BertEmbeddings(config);
        encoder = new BertLayerStack(config);
        RegisterComponents();
    }

    /// <param name="inputIds">[B, L] int64.</param>
    /// <param name="attentionMask">[B, L] 0/1.</param>
    /// <param name="imageTokens">[B, S, Dv] in the weights' dtype.</param>
    /// <returns>The last hidden state [B, L, H].</returns>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor imageTokens)
    {
        using var scope = NewDisposeScope();
        var hidden = embeddings.forward(inputIds);
        // med.py's get_extended_attention_mask: (1 - mask) * -10000.0, broadcast over heads and queries.
        var selfMask = ((1.0 - attentionMask.to(hidden.dtype)) * -10000.0).view(inputIds.shape[0], 1, 1, inputIds.shape[1]);
        return encoder.Forward(hidden, selfMask, imageTokens).MoveToOuterDisposeScope();
    }
}
