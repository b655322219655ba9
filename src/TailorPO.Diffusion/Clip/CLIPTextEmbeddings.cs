using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// Token embedding plus learned position embedding (<c>embeddings.token_embedding</c>,
/// <c>embeddings.position_embedding</c>). Positions are 0..S-1; the <c>position_ids</c> buffer
/// that real checkpoints carry is recomputed rather than stored.
/// </summary>
internal sealed class CLIPTextEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;
#pragma warning restore IDE1006

    public CLIPTextEmbeddings(long vocabSize, long maxPositions, long hiddenSize) : base(nameof(CLIPTextEmbeddings))
    {
        token_embedding = Layers.Embedding(vocabSize, hiddenSize);
        position_embedding = Layers.Embedding(maxPositions, hiddenSize);
        RegisterComponents();
    }

    /// <param name="inputIds">[B, S] int64, already validated.</param>
    public override Tensor forward(Tensor inputIds)
    {
        using var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device);
        using var tokens = token_embedding.forward(inputIds);
        using var placed = position_embedding.forward(positions);
        return tokens + placed;
    }
}
