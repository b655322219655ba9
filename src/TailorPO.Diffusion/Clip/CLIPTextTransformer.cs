using TailorPO.Diffusion.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// The text tower (<c>text_model</c>): embeddings, a causal encoder, <c>final_layer_norm</c>,
/// and pooling at the end-of-text position.
/// </summary>
internal sealed class CLIPTextTransformer : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly CLIPTextEmbeddings embeddings;
    private readonly CLIPEncoder encoder;
    private readonly LayerNorm final_layer_norm;
#pragma warning restore IDE1006

    private readonly CLIPTextConfig _config;

    public CLIPTextTransformer(CLIPTextConfig config) : base(nameof(CLIPTextTransformer))
    {
        _config = config;
        embeddings = new CLIPTextEmbeddings(config.VocabSize, config.MaxPositionEmbeddings, config.HiddenSize);
        encoder = new CLIPEncoder(config.NumHiddenLayers, config.HiddenSize, config.IntermediateSize,
            config.NumAttentionHeads, config.HiddenAct, config.LayerNormEps, causal: true);
        final_layer_norm = Layers.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Runs the tower on validated int64 ids (and an optional validated [B, S] 0/1 mask).</summary>
    public (Tensor LastHiddenState, Tensor PooledOutput) Forward(Tensor inputIds, Tensor? attentionMask, List<Tensor>? hiddenStates)
    {
        var embedded = embeddings.forward(inputIds);
        using var mask = attentionMask is null ? null : BuildAdditiveMask(attentionMask, embedded.dtype);
        var encoded = encoder.Forward(embedded, mask, hiddenStates);
        if (hiddenStates is null) embedded.Dispose();
        var last = final_layer_norm.forward(encoded);
        if (hiddenStates is null) encoded.Dispose();

        using var positions = PoolingPositions(inputIds);
        long batch = last.shape[0], width = last.shape[2];
        using var index = positions.view(batch, 1, 1).expand(batch, 1, width);
        using var gathered = last.gather(1, index);
        var pooled = gathered.squeeze(1);
        return (last, pooled);
    }

    /// <summary>
    /// The pooled position per row, transformers 4.33's rule: with the legacy
    /// <c>eos_token_id</c> 2 the position of the largest id (the first on ties); otherwise the
    /// first position that holds <c>eos_token_id</c> (0 when there is none).
    /// </summary>
    public Tensor PoolingPositions(Tensor inputIds)
    {
        if (_config.UsesLegacyArgmaxPooling) return inputIds.argmax(-1);
        using var isEos = inputIds.eq(_config.EosTokenId);
        using var asInt = isEos.to(ScalarType.Int32);
        return asInt.argmax(-1);
    }

    /// <summary>
    /// Causal mask plus padding mask as additive terms of the dtype's most negative value (as
    /// transformers does), so a row whose keys are all padding stays finite instead of NaN.
    /// </summary>
    private static Tensor BuildAdditiveMask(Tensor attentionMask, ScalarType dtype)
    {
        long batch = attentionMask.shape[0], length = attentionMask.shape[1];
        var lowest = dtype switch
        {
            ScalarType.Float16 => -65504.0,
            ScalarType.BFloat16 => -3.3895313892515355e38,
            ScalarType.Float64 => double.MinValue,
            _ => float.MinValue,
        };
        using var full = torch.full(length, length, lowest, dtype: dtype, device: attentionMask.device);
        using var causal = full.triu(1);
        using var keep = attentionMask.to(dtype);
        using var inverted = 1.0 - keep;
        using var padding = (inverted * lowest).view(batch, 1, 1, length);
        // Summing two lowest values overflows to -inf; softmax still gives those keys zero weight.
        return causal.view(1, 1, length, length) + padding;
    }
}
