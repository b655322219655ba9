using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// med.py's BertEmbeddings: <c>LayerNorm(word_embeddings[ids] + position_embeddings[0..L-1])</c>; unlike
/// transformers' BERT there are no token-type embeddings. The stored <c>position_ids</c> buffer is recomputed.
/// </summary>
internal sealed class BertEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly LayerNorm LayerNorm;
#pragma warning restore IDE1006

    public BertEmbeddings(ImageRewardConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = Layers.Embedding(config.VocabSize, config.HiddenSize);
        position_embeddings = Layers.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        LayerNorm = Layers.LayerNorm(config.HiddenSize, config.TextLayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device);
        var summed = word_embeddings.forward(inputIds) + position_embeddings.forward(positions);
        return LayerNorm.forward(summed).MoveToOuterDisposeScope();
    }
}
