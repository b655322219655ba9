using TailorPO.Diffusion.Blocks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The vision tower (<c>vision_model</c>): embeddings, <c>pre_layrnorm</c> (transformers'
/// spelling), a bidirectional encoder, and <c>post_layernorm</c> applied to the class token only.
/// </summary>
internal sealed class CLIPVisionTransformer : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPVisionEmbeddings embeddings;
    private readonly LayerNorm pre_layrnorm;
    private readonly CLIPEncoder encoder;
    private readonly LayerNorm post_layernorm;
#pragma warning restore IDE1006

    public CLIPVisionTransformer(CLIPVisionConfig config) : base(nameof(CLIPVisionTransformer))
    {
        embeddings = new CLIPVisionEmbeddings(config);
        pre_layrnorm = Layers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        encoder = new CLIPEncoder(config.NumHiddenLayers, config.HiddenSize, config.IntermediateSize,
            config.NumAttentionHeads, config.HiddenAct, config.LayerNormEps, causal: false);
        post_layernorm = Layers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Runs the tower on validated pixel values in the weights' dtype.</summary>
    /// <returns>The encoder's last hidden state [B, 1 + patches, C] (no final norm) and the
    /// normalised class token [B, C].</returns>
    public (Tensor LastHiddenState, Tensor PooledOutput) Forward(Tensor pixelValues, List<Tensor>? hiddenStates)
    {
        using var embedded = embeddings.forward(pixelValues);
        var normed = pre_layrnorm.forward(embedded);
        var last = encoder.Forward(normed, null, hiddenStates);
        if (hiddenStates is null) normed.Dispose();
        using var classToken = last.select(1, 0);
        var pooled = post_layernorm.forward(classToken);
        return (last, pooled);
    }
}
