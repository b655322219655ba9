using TailorPO.Diffusion.Clip;
using TailorPO.Rewards.Blip;
using TailorPO.Rewards.Hps;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The floors HPSv2 and ImageReward are measured against: the same forward graphs replayed with bare
/// <c>nn.functional</c> calls on the rewards' own parameter tensors (no modules of ours, no input checks, no
/// dispose scopes beyond one per call, token ids prepared once). Same operations in the same order, so scores
/// and image gradients match the rewards' (checked by <see cref="RewardFloorBenchmarks"/>' setup).
/// </summary>
internal static class BareLearnedRewards
{
    private static readonly double[] ClipMean = [0.48145466, 0.4578275, 0.40821073];
    private static readonly double[] ClipStd = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>HPSv2 of images [B, 3, H, W] in [0, 1] against pre-tokenised prompts.</summary>
    public static Tensor HpsV2(HpsV2Reward reward, Dictionary<string, Tensor> p, Tensor images, Tensor ids)
    {
        var vision = reward.Model.Config.Vision;
        var text = reward.Model.Config.Text;
        long size = vision.ImageSize;
        var (h, w) = LetterboxPreprocessor.ResizedSize(images.shape[2], images.shape[3], (int)size);
        var x = nn.functional.interpolate(images, size: [h, w], mode: InterpolationMode.Bicubic, align_corners: false, antialias: false);
        x = nn.functional.pad(x, [(size - w) / 2, size - w - (size - w) / 2, (size - h) / 2, size - h - (size - h) / 2], TorchSharp.PaddingModes.Constant, 0);
        x = Normalize(x);

        var v = nn.functional.conv2d(x, p["vision_model.embeddings.patch_embedding.weight"], null, [vision.PatchSize, vision.PatchSize]).flatten(2).transpose(1, 2);
        v = cat([p["vision_model.embeddings.class_embedding"].view(1, 1, -1).expand(v.shape[0], 1, -1), v], 1) + p["vision_model.embeddings.position_embedding.weight"];
        v = Norm(v, p, "vision_model.pre_layrnorm", vision.LayerNormEps);
        v = Encoder(v, p, "vision_model.encoder.layers.", vision.NumHiddenLayers, vision.NumAttentionHeads, vision.LayerNormEps, causal: false);
        var image = nn.functional.linear(Norm(v.select(1, 0), p, "vision_model.post_layernorm", vision.LayerNormEps), p["visual_projection.weight"]);

        Tensor textFeatures;
        using (no_grad())
        {
            var t = Embed(ids, p["text_model.embeddings.token_embedding.weight"]) + p["text_model.embeddings.position_embedding.weight"];
            t = Encoder(t, p, "text_model.encoder.layers.", text.NumHiddenLayers, text.NumAttentionHeads, text.LayerNormEps, causal: true);
            t = Norm(t, p, "text_model.final_layer_norm", text.LayerNormEps);
            var pooled = t.gather(1, ids.argmax(-1).view(-1, 1, 1).expand(-1, 1, t.shape[2])).squeeze(1);
            var projected = nn.functional.linear(pooled, p["text_projection.weight"]);
            textFeatures = projected / projected.norm(1, keepdim: true).clamp_min(1e-12);
        }
        var imageFeatures = image / image.norm(1, keepdim: true).clamp_min(1e-12);
        return (imageFeatures * textFeatures).sum(1);
    }

    /// <summary>ImageReward of images [B, 3, H, W] in [0, 1] against pre-tokenised prompts.</summary>
    public static Tensor ImageReward(ImageRewardConfig c, Dictionary<string, Tensor> p, Tensor images, Tensor ids, Tensor mask)
    {
        long size = c.ImageSize;
        long height = images.shape[2], width = images.shape[3];
        var (h, w) = height <= width ? (size, (long)Math.Floor((double)(size * width) / height)) : ((long)Math.Floor((double)(size * height) / width), size);
        var x = h == height && w == width ? images
            : nn.functional.interpolate(images, size: [h, w], mode: InterpolationMode.Bicubic, align_corners: false, antialias: false);
        var (top, left) = ImageRewardPreprocessor.CropOrigin(h, w, (int)size);
        x = Normalize(x[.., .., TensorIndex.Slice(top, top + size), TensorIndex.Slice(left, left + size)]);

        const string V = "blip.visual_encoder.";
        var v = nn.functional.conv2d(x, p[V + "patch_embedding.weight"], p[V + "patch_embedding.bias"], [c.PatchSize, c.PatchSize]).flatten(2).transpose(1, 2);
        v = cat([p[V + "cls_token"].expand(v.shape[0], -1, -1), v], 1) + p[V + "pos_embed"];
        v = Encoder(v, p, V + "encoder.layers.", c.VisionLayers, c.VisionHeads, c.VisionLayerNormEps, causal: false);
        v = Norm(v, p, V + "norm", c.VisionLayerNormEps);

        const string T = "blip.text_encoder.";
        var positions = arange(ids.shape[1], dtype: ScalarType.Int64);
        var t = Embed(ids, p[T + "embeddings.word_embeddings.weight"]) + Embed(positions.view(1, -1), p[T + "embeddings.position_embeddings.weight"]);
        t = Norm(t, p, T + "embeddings.LayerNorm", c.TextLayerNormEps);
        var selfMask = ((1.0 - mask.to(t.dtype)) * -10000.0).view(ids.shape[0], 1, 1, ids.shape[1]);
        for (var i = 0; i < c.NumHiddenLayers; i++)
        {
            var l = $"{T}encoder.layer.{i}.";
            t = Norm(Linear(BertAttention(t, t, p, l + "attention.self.", c.NumAttentionHeads, selfMask), p, l + "attention.output.dense") + t, p, l + "attention.output.LayerNorm", c.TextLayerNormEps);
            t = Norm(Linear(BertAttention(t, v, p, l + "crossattention.self.", c.NumAttentionHeads, null), p, l + "crossattention.output.dense") + t, p, l + "crossattention.output.LayerNorm", c.TextLayerNormEps);
            t = Norm(Linear(nn.functional.gelu(Linear(t, p, l + "intermediate.dense")), p, l + "output.dense") + t, p, l + "output.LayerNorm", c.TextLayerNormEps);
        }
        var y = t.select(1, 0);
        foreach (var layer in new[] { 0, 2, 4, 6, 7 }) y = Linear(y, p, $"mlp.layers.{layer}");
        return (y.squeeze(1) - c.RewardMean) / c.RewardStd;
    }

    // A frozen embedding's rows (TorchSharp exposes no functional embedding; the values are the same).
    private static Tensor Embed(Tensor ids, Tensor weight) => weight.index_select(0, ids.reshape(-1)).view(ids.shape[0], ids.shape[1], -1);

    private static Tensor Normalize(Tensor x) =>
        (x - tensor(ClipMean, dtype: x.dtype).view(1, 3, 1, 1)) / tensor(ClipStd, dtype: x.dtype).view(1, 3, 1, 1);

    private static Tensor Norm(Tensor x, Dictionary<string, Tensor> p, string name, double eps) =>
        nn.functional.layer_norm(x, [x.shape[^1]], p[name + ".weight"], p[name + ".bias"], eps);

    private static Tensor Linear(Tensor x, Dictionary<string, Tensor> p, string name) =>
        nn.functional.linear(x, p[name + ".weight"], p[name + ".bias"]);

    private static Tensor Heads(Tensor x, long heads) => x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2);

    // CLIP encoder layers: x + attn(ln1(x)), then x + fc2(gelu(fc1(ln2(x)))).
    private static Tensor Encoder(Tensor x, Dictionary<string, Tensor> p, string prefix, long layers, long heads, double eps, bool causal)
    {
        for (var i = 0; i < layers; i++)
        {
            var l = $"{prefix}{i}.";
            var n = Norm(x, p, l + "layer_norm1", eps);
            var a = nn.functional.scaled_dot_product_attention(Heads(Linear(n, p, l + "self_attn.q_proj"), heads),
                Heads(Linear(n, p, l + "self_attn.k_proj"), heads), Heads(Linear(n, p, l + "self_attn.v_proj"), heads), is_casual: causal);
            x = x + Linear(a.transpose(1, 2).reshape(x.shape[0], x.shape[1], x.shape[2]), p, l + "self_attn.out_proj");
            x = x + Linear(nn.functional.gelu(Linear(Norm(x, p, l + "layer_norm2", eps), p, l + "mlp.fc1")), p, l + "mlp.fc2");
        }
        return x;
    }

    private static Tensor BertAttention(Tensor hidden, Tensor context, Dictionary<string, Tensor> p, string prefix, long heads, Tensor? mask)
    {
        var q = Heads(Linear(hidden, p, prefix + "query"), heads);
        var k = Heads(Linear(context, p, prefix + "key"), heads);
        var v = Heads(Linear(context, p, prefix + "value"), heads);
        var a = mask is null ? nn.functional.scaled_dot_product_attention(q, k, v) : nn.functional.scaled_dot_product_attention(q, k, v, mask);
        return a.transpose(1, 2).reshape(hidden.shape[0], hidden.shape[1], -1);
    }
}
