using TailorPO.Diffusion.Checkpoints;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Clip;

/// <summary>
/// open_clip's state-dict layout (<c>visual.*</c>, <c>transformer.resblocks.N.*</c>, <c>token_embedding</c>, ...)
/// seen as the transformers-layout keys of <see cref="CLIPVisionModelWithProjection"/> and
/// <see cref="CLIPTextModelWithProjection"/>; the maths of the two layouts is the same, only names and packing
/// differ: torch MultiheadAttention's fused <c>attn.in_proj_weight</c> [3W, W] (and bias) stacks
/// <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> in that order; <c>visual.proj</c> [W, E] and <c>text_projection</c>
/// [Wt, E] are applied as <c>x @ proj</c>, so they are the transposes of the bias-free Linear weights.
/// </summary>
internal static class OpenClipCheckpoint
{
    /// <summary>The learned log temperature (0-d).</summary>
    public const string LogitScaleKey = "logit_scale";

    /// <summary>The vision tower's keys (transformers names) mapped onto open_clip's.</summary>
    public static Dictionary<string, TensorMapping> VisionMap(CLIPVisionConfig config)
    {
        long width = config.HiddenSize;
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal)
        {
            ["vision_model.embeddings.class_embedding"] = new("visual.class_embedding", [width]),
            ["vision_model.embeddings.patch_embedding.weight"] = new("visual.conv1.weight", [width, config.NumChannels, config.PatchSize, config.PatchSize]),
            ["vision_model.embeddings.position_embedding.weight"] = new("visual.positional_embedding", [config.NumPositions, width]),
            ["vision_model.pre_layrnorm.weight"] = new("visual.ln_pre.weight", [width]),
            ["vision_model.pre_layrnorm.bias"] = new("visual.ln_pre.bias", [width]),
            ["vision_model.post_layernorm.weight"] = new("visual.ln_post.weight", [width]),
            ["vision_model.post_layernorm.bias"] = new("visual.ln_post.bias", [width]),
            ["visual_projection.weight"] = Transposed("visual.proj", config.ProjectionDim, width),
        };
        AddLayers(map, "vision_model.encoder.layers.", "visual.transformer.resblocks.", config.NumHiddenLayers, width, config.IntermediateSize);
        return map;
    }

    /// <summary>The text tower's keys (transformers names) mapped onto open_clip's.</summary>
    public static Dictionary<string, TensorMapping> TextMap(CLIPTextConfig config)
    {
        long width = config.HiddenSize;
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal)
        {
            ["text_model.embeddings.token_embedding.weight"] = new("token_embedding.weight", [config.VocabSize, width]),
            ["text_model.embeddings.position_embedding.weight"] = new("positional_embedding", [config.MaxPositionEmbeddings, width]),
            ["text_model.final_layer_norm.weight"] = new("ln_final.weight", [width]),
            ["text_model.final_layer_norm.bias"] = new("ln_final.bias", [width]),
            ["text_projection.weight"] = Transposed("text_projection", config.ProjectionDim, width),
        };
        AddLayers(map, "text_model.encoder.layers.", "transformer.resblocks.", config.NumHiddenLayers, width, config.IntermediateSize);
        return map;
    }

    /// <summary>
    /// A view of <paramref name="file"/> under one tower's transformers names. Keys of the file that neither
    /// tower maps (other than <see cref="LogitScaleKey"/>) stay visible under their own names, so the loader
    /// reports them as unexpected.
    /// </summary>
    /// <exception cref="StateDictMismatchException">A stored tensor has another shape than the config implies (named by its open_clip key).</exception>
    public static MappedSource View(TensorSource file, Dictionary<string, TensorMapping> tower, OpenClipConfig config, string towerName)
    {
        // The other tower's keys (and logit_scale, read apart) are hidden: only keys neither tower knows are unexpected.
        var other = VisionMap(config.Vision).Values.Concat(TextMap(config.Text).Values).Select(m => m.SourceKey).ToHashSet(StringComparer.Ordinal);
        return MappedSource.Over(file, tower, towerName, key => key == LogitScaleKey || other.Contains(key));
    }

    private static void AddLayers(Dictionary<string, TensorMapping> map, string to, string from, long layers, long width, long hidden)
    {
        for (var i = 0; i < layers; i++)
        {
            string t = $"{to}{i}.", f = $"{from}{i}.";
            string[] heads = ["q_proj", "k_proj", "v_proj"];
            for (var part = 0; part < 3; part++)
            {
                map[$"{t}self_attn.{heads[part]}.weight"] = Rows($"{f}attn.in_proj_weight", part, [width, width]);
                map[$"{t}self_attn.{heads[part]}.bias"] = Rows($"{f}attn.in_proj_bias", part, [width]);
            }
            map[$"{t}self_attn.out_proj.weight"] = new($"{f}attn.out_proj.weight", [width, width]);
            map[$"{t}self_attn.out_proj.bias"] = new($"{f}attn.out_proj.bias", [width]);
            map[$"{t}layer_norm1.weight"] = new($"{f}ln_1.weight", [width]);
            map[$"{t}layer_norm1.bias"] = new($"{f}ln_1.bias", [width]);
            map[$"{t}layer_norm2.weight"] = new($"{f}ln_2.weight", [width]);
            map[$"{t}layer_norm2.bias"] = new($"{f}ln_2.bias", [width]);
            map[$"{t}mlp.fc1.weight"] = new($"{f}mlp.c_fc.weight", [hidden, width]);
            map[$"{t}mlp.fc1.bias"] = new($"{f}mlp.c_fc.bias", [hidden]);
            map[$"{t}mlp.fc2.weight"] = new($"{f}mlp.c_proj.weight", [width, hidden]);
            map[$"{t}mlp.fc2.bias"] = new($"{f}mlp.c_proj.bias", [width]);
        }
    }

    /// <summary>Part <paramref name="part"/> (0 = q, 1 = k, 2 = v) of a fused projection stacked along its first dimension.</summary>
    internal static TensorMapping Rows(string sourceKey, int part, long[] shape) =>
        new(sourceKey, shape, Transform: fused => fused.narrow(0, part * shape[0], shape[0]).contiguous().clone(),
            SourceShape: [3 * shape[0], .. shape[1..]]);

    private static TensorMapping Transposed(string sourceKey, long rows, long columns) =>
        new(sourceKey, [rows, columns], Transform: stored => stored.t().contiguous().clone(), SourceShape: [columns, rows]);
}
