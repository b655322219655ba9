using System.Text.Json.Nodes;
using TailorPO.Samples.Pretraining;

namespace TailorPO.Samples.RewardPretraining;

/// <summary>
/// The architecture of the embedded preference model: a transformers <c>CLIPModel</c> (ViT vision tower,
/// causal text tower with the CLIP BPE vocabulary, bias-free projections into a joint space, a learned
/// <c>logit_scale</c>), shrunk to the dataset's 32 x 32 images. The token embedding (49,408 tokens x
/// <see cref="TextHiddenSize"/>) is most of the text tower, so the text is narrow; the vision tower gets
/// the rest of the 10 MB budget, with small patches because shapes are small details.
/// </summary>
public sealed record PreferenceModelDesign
{
    /// <summary>Image side in pixels (the dataset's resolution; no resize happens).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Patch side in pixels (must divide <see cref="ImageSize"/>); 4 gives 64 patches.</summary>
    public int PatchSize { get; init; } = 4;

    /// <summary>Vision tower width.</summary>
    public int VisionHiddenSize { get; init; } = 128;

    /// <summary>Vision tower layers.</summary>
    public int VisionLayers { get; init; } = 4;

    /// <summary>Vision attention heads (width / 32).</summary>
    public int VisionHeads => Math.Max(1, VisionHiddenSize / 32);

    /// <summary>Text tower width.</summary>
    public int TextHiddenSize { get; init; } = 32;

    /// <summary>Text tower layers.</summary>
    public int TextLayers { get; init; } = 3;

    /// <summary>Text attention heads (width / 8).</summary>
    public int TextHeads => Math.Max(1, TextHiddenSize / 8);

    /// <summary>Width of the joint image-text space.</summary>
    public int ProjectionDim { get; init; } = 64;

    /// <summary>Longest token sequence (bos + caption + eos); the captions need 10 to 12.</summary>
    public int MaxTokens { get; init; } = 16;

    /// <summary>The CLIP vocabulary size (the tokenizer's vocab.json).</summary>
    public int VocabularySize { get; init; } = 49408;

    /// <summary>Initial <c>logit_scale</c>: log(1 / 0.07), CLIP's.</summary>
    public const double InitialLogitScale = 2.6592600369644165;

    /// <summary>Upper clamp of <c>logit_scale</c> in training: log(100), CLIP's.</summary>
    public const double MaxLogitScale = 4.605170185988092;

    /// <summary>The transformers <c>CLIPConfig</c> (<c>config.json</c>).</summary>
    public JsonObject Config() => new()
    {
        ["architectures"] = new JsonArray("CLIPModel"),
        ["model_type"] = "clip",
        ["initializer_factor"] = 1.0,
        ["logit_scale_init_value"] = InitialLogitScale,
        ["projection_dim"] = ProjectionDim,
        ["torch_dtype"] = "float16",
        ["text_config"] = new JsonObject
        {
            ["model_type"] = "clip_text_model",
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = 49406,
            ["eos_token_id"] = 49407,
            ["pad_token_id"] = 49407,
            ["hidden_act"] = "quick_gelu",
            ["hidden_size"] = TextHiddenSize,
            ["intermediate_size"] = TextHiddenSize * 4,
            ["layer_norm_eps"] = 1e-05,
            ["max_position_embeddings"] = MaxTokens,
            ["num_attention_heads"] = TextHeads,
            ["num_hidden_layers"] = TextLayers,
            ["projection_dim"] = ProjectionDim,
            ["vocab_size"] = VocabularySize,
        },
        ["vision_config"] = new JsonObject
        {
            ["model_type"] = "clip_vision_model",
            ["attention_dropout"] = 0.0,
            ["hidden_act"] = "quick_gelu",
            ["hidden_size"] = VisionHiddenSize,
            ["image_size"] = ImageSize,
            ["intermediate_size"] = VisionHiddenSize * 4,
            ["layer_norm_eps"] = 1e-05,
            ["num_attention_heads"] = VisionHeads,
            ["num_channels"] = 3,
            ["num_hidden_layers"] = VisionLayers,
            ["patch_size"] = PatchSize,
            ["projection_dim"] = ProjectionDim,
        },
    };

    /// <summary>
    /// The <c>CLIPImageProcessor</c> config: no resize or crop at the native size, mean 0.5 and std 0.5, so
    /// images in [0, 1] reach the tower in [-1, 1], the range the dataset draws and the tiny diffusion model makes.
    /// </summary>
    public JsonObject PreprocessorConfig() => new()
    {
        ["crop_size"] = new JsonObject { ["height"] = ImageSize, ["width"] = ImageSize },
        ["do_center_crop"] = true,
        ["do_convert_rgb"] = true,
        ["do_normalize"] = true,
        ["do_rescale"] = true,
        ["do_resize"] = true,
        ["image_mean"] = new JsonArray(0.5, 0.5, 0.5),
        ["image_processor_type"] = "CLIPImageProcessor",
        ["image_std"] = new JsonArray(0.5, 0.5, 0.5),
        ["resample"] = 3,
        ["rescale_factor"] = 1.0 / 255,
        ["size"] = new JsonObject { ["shortest_edge"] = ImageSize },
    };

    /// <summary>tokenizer_config.json with <see cref="MaxTokens"/> as model_max_length.</summary>
    public JsonObject TokenizerConfig() => ClipTokenizerFolder.Config(MaxTokens);

    /// <summary>Parameters of the whole model (for the size estimate: two bytes each on disk).</summary>
    public long ParameterCount()
    {
        long Layer(long h) => 4 * (h * h + h) + (8 * h * h + 5 * h) + 4 * h; // attention, MLP, two norms
        long v = VisionHiddenSize, t = TextHiddenSize;
        var patches = (long)(ImageSize / PatchSize) * (ImageSize / PatchSize);
        var vision = v + 3L * PatchSize * PatchSize * v + (patches + 1) * v + 4 * v + VisionLayers * Layer(v) + v * ProjectionDim;
        var text = (long)VocabularySize * t + (long)MaxTokens * t + 2 * t + TextLayers * Layer(t) + t * ProjectionDim;
        return vision + text + 1;
    }
}
