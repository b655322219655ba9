using System.Text.Json.Nodes;

namespace TailorPO.Samples.Pretraining;

/// <summary>
/// The architecture of the embedded tiny text-to-image model: the SAME classes and config files as
/// Stable Diffusion v1.5 (diffusers <c>UNet2DConditionModel</c>, transformers <c>CLIPTextModel</c> with
/// the CLIP BPE tokenizer, <c>DDIMScheduler</c>), shrunk to 32 x 32 RGB pixels. There is no VAE: the
/// UNet denoises the image itself (pixel space, values in [-1, 1]).
/// </summary>
/// <remarks>
/// The token embedding (49,408 CLIP tokens x <see cref="TextHiddenSize"/>) dominates the size on
/// disk, so the text width is small; weights are stored in float16.
/// </remarks>
public sealed record TinyModelDesign
{
    /// <summary>Image side in pixels (the UNet's sample_size).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>UNet channels per resolution (32, 16, 8 pixels).</summary>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [32, 64, 128];

    /// <summary>
    /// Down blocks: plain convolutions at 32 and 16 pixels, attention (self and cross) at 8 x 8 only -
    /// the caption fixes global properties (colours, shape, pattern), and attention at 16 x 16 cost
    /// a fifth of the training time.
    /// </summary>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"];

    /// <summary>Up blocks, mirroring <see cref="DownBlockTypes"/> (the mid block attends too).</summary>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"];

    /// <summary>Resnets per down block (up blocks have one more, as in diffusers).</summary>
    public int LayersPerBlock { get; init; } = 1;

    /// <summary>GroupNorm groups.</summary>
    public int NormNumGroups { get; init; } = 8;

    /// <summary>Attention heads per transformer (diffusers' <c>attention_head_dim</c>, which counts heads).</summary>
    public int AttentionHeads { get; init; } = 4;

    /// <summary>Text encoder width (= the UNet's cross_attention_dim).</summary>
    public int TextHiddenSize { get; init; } = 64;

    /// <summary>Text encoder layers.</summary>
    public int TextLayers { get; init; } = 3;

    /// <summary>Text encoder attention heads.</summary>
    public int TextHeads { get; init; } = 4;

    /// <summary>Longest token sequence (bos + caption + eos); the captions need 10 to 12.</summary>
    public int MaxTokens { get; init; } = 16;

    /// <summary>The training noise schedule (diffusers' beta_schedule): "linear" or "squaredcos_cap_v2".</summary>
    public string BetaSchedule { get; init; } = "linear";

    /// <summary>The CLIP vocabulary size (the tokenizer's vocab.json).</summary>
    public int VocabularySize { get; init; } = 49408;

    /// <summary>The UNet's <c>config.json</c>.</summary>
    public JsonObject UNetConfig() => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["_diffusers_version"] = "0.21.4",
        ["act_fn"] = "silu",
        ["attention_head_dim"] = AttentionHeads,
        ["block_out_channels"] = ToArray(BlockOutChannels),
        ["center_input_sample"] = false,
        ["cross_attention_dim"] = TextHiddenSize,
        ["down_block_types"] = ToArray(DownBlockTypes),
        ["downsample_padding"] = 1,
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["in_channels"] = 3,
        ["layers_per_block"] = LayersPerBlock,
        ["mid_block_scale_factor"] = 1,
        ["norm_eps"] = 1e-05,
        ["norm_num_groups"] = NormNumGroups,
        ["out_channels"] = 3,
        ["sample_size"] = ImageSize,
        ["up_block_types"] = ToArray(UpBlockTypes),
        ["use_linear_projection"] = false,
        ["upcast_attention"] = false,
    };

    /// <summary>The text encoder's <c>config.json</c> (a transformers CLIPTextConfig).</summary>
    public JsonObject TextEncoderConfig() => new()
    {
        ["architectures"] = new JsonArray("CLIPTextModel"),
        ["model_type"] = "clip_text_model",
        ["attention_dropout"] = 0.0,
        ["bos_token_id"] = 49406,
        ["eos_token_id"] = 49407,
        ["pad_token_id"] = 49407,
        ["hidden_act"] = "quick_gelu",
        ["hidden_size"] = TextHiddenSize,
        ["initializer_factor"] = 1.0,
        ["initializer_range"] = 0.02,
        ["intermediate_size"] = TextHiddenSize * 4,
        ["layer_norm_eps"] = 1e-05,
        ["max_position_embeddings"] = MaxTokens,
        ["num_attention_heads"] = TextHeads,
        ["num_hidden_layers"] = TextLayers,
        ["projection_dim"] = TextHiddenSize,
        ["torch_dtype"] = "float16",
        ["vocab_size"] = VocabularySize,
    };

    /// <summary>
    /// The DDIM scheduler config: DDPM's linear schedule (beta 1e-4 .. 0.02 over 1000 steps), the one DDPM
    /// trained its 32 x 32 pixel models with, with x0_hat clipped to [-1, 1] (the pixel range) and SD v1.5's
    /// DDIM layout (leading spacing, steps_offset 1, set_alpha_to_one false). Half of its training
    /// timesteps have abar &lt; 0.08, the low signal-to-noise range where the caption has to decide the
    /// colours and the layout; a first cosine-schedule run (a third as many such timesteps) had learnt the
    /// patterns but still ignored the caption's colours after 800 steps. At the first DDIM step (t = 951)
    /// abar is 1e-4, so sampling starts from what training saw: almost pure noise.
    /// </summary>
    public JsonObject SchedulerConfig() => new()
    {
        ["_class_name"] = "DDIMScheduler",
        ["_diffusers_version"] = "0.21.4",
        ["beta_end"] = 0.02,
        ["beta_schedule"] = BetaSchedule,
        ["beta_start"] = 0.0001,
        ["clip_sample"] = true,
        ["clip_sample_range"] = 1.0,
        ["num_train_timesteps"] = 1000,
        ["prediction_type"] = "epsilon",
        ["rescale_betas_zero_snr"] = false,
        ["set_alpha_to_one"] = false,
        ["steps_offset"] = 1,
        ["thresholding"] = false,
        ["timestep_spacing"] = "leading",
        ["trained_betas"] = null,
    };

    /// <summary>model_index.json of a pixel-space Stable Diffusion pipeline (no VAE).</summary>
    public static JsonObject ModelIndex() => new()
    {
        ["_class_name"] = "StableDiffusionPipeline",
        ["_diffusers_version"] = "0.21.4",
        ["feature_extractor"] = new JsonArray(null, null),
        ["requires_safety_checker"] = false,
        ["safety_checker"] = new JsonArray(null, null),
        ["scheduler"] = new JsonArray("diffusers", "DDIMScheduler"),
        ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
        ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
        ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
        ["vae"] = new JsonArray(null, null),
    };

    /// <summary>tokenizer_config.json with <see cref="MaxTokens"/> as model_max_length.</summary>
    public JsonObject TokenizerConfig() => ClipTokenizerFolder.Config(MaxTokens);

    private static JsonArray ToArray(IEnumerable<int> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    private static JsonArray ToArray(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}
