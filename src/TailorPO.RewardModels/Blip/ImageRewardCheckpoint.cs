using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;

namespace TailorPO.Rewards.Blip;

/// <summary>
/// ImageReward.pt's key layout seen through <see cref="ImageRewardNetwork"/>'s names. Only the ViT blocks are
/// renamed: timm's fused <c>attn.qkv</c> [3D, D] (q, k, v stacked in that order, as BLIP's vit.py reshapes its
/// output) is split into the CLIP encoder layer's <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>; <c>attn.proj</c>,
/// <c>norm1</c>, <c>norm2</c> become <c>out_proj</c>, <c>layer_norm1</c>, <c>layer_norm2</c>; the patch
/// convolution loses its <c>patch_embed.proj</c> wrapper. Every other key keeps its name.
/// </summary>
internal static class ImageRewardCheckpoint
{
    private const string Vision = "blip.visual_encoder.";

    /// <summary>Keys of the file the score does not use: BLIP_Pretrain's contrastive projections and BERT's position-id buffer.</summary>
    public static bool IsUnused(string key) =>
        key is "blip.text_encoder.embeddings.position_ids"
        || key.StartsWith("blip.vision_proj.", StringComparison.Ordinal) || key.StartsWith("blip.text_proj.", StringComparison.Ordinal);

    /// <summary>A view of <paramref name="file"/> under the network's names (keys not renamed pass through).</summary>
    /// <exception cref="StateDictMismatchException">A fused qkv tensor has another shape than the config implies.</exception>
    public static MappedSource View(TensorSource file, ImageRewardConfig config)
    {
        var width = config.VisionWidth;
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal)
        {
            [Vision + "patch_embedding.weight"] = new(Vision + "patch_embed.proj.weight", [width, 3, config.PatchSize, config.PatchSize]),
            [Vision + "patch_embedding.bias"] = new(Vision + "patch_embed.proj.bias", [width]),
        };
        string[] heads = ["q_proj", "k_proj", "v_proj"];
        for (var i = 0; i < config.VisionLayers; i++)
        {
            string to = $"{Vision}encoder.layers.{i}.", from = $"{Vision}blocks.{i}.";
            for (var part = 0; part < 3; part++)
            {
                map[$"{to}self_attn.{heads[part]}.weight"] = OpenClipCheckpoint.Rows($"{from}attn.qkv.weight", part, [width, width]);
                map[$"{to}self_attn.{heads[part]}.bias"] = OpenClipCheckpoint.Rows($"{from}attn.qkv.bias", part, [width]);
            }
            foreach (var (ours, theirs) in new[] { ("self_attn.out_proj", "attn.proj"), ("layer_norm1", "norm1"), ("layer_norm2", "norm2") })
            {
                map[$"{to}{ours}.weight"] = new($"{from}{theirs}.weight", ours == "self_attn.out_proj" ? [width, width] : [width]);
                map[$"{to}{ours}.bias"] = new($"{from}{theirs}.bias", [width]);
            }
            map[$"{to}mlp.fc1.weight"] = new($"{from}mlp.fc1.weight", [config.VisionMlpWidth, width]);
            map[$"{to}mlp.fc1.bias"] = new($"{from}mlp.fc1.bias", [config.VisionMlpWidth]);
            map[$"{to}mlp.fc2.weight"] = new($"{from}mlp.fc2.weight", [width, config.VisionMlpWidth]);
            map[$"{to}mlp.fc2.bias"] = new($"{from}mlp.fc2.bias", [width]);
        }
        return MappedSource.Over(file, map, "ImageReward");
    }
}
