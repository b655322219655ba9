using TailorPO.Diffusion.Lora;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Options;

/// <summary>
/// What <c>AddTailorPODiffusion</c> loads and how: the diffusers folder, where the weights live, and an
/// optional LoRA adapter on the UNet. Bind it from configuration (e.g. the section <see cref="SectionName"/>)
/// or set it in <c>AddTailorPODiffusion(o =&gt; ...)</c>; it is validated at start, the model is loaded on
/// first use.
/// </summary>
public sealed class TailorPODiffusionOptions
{
    /// <summary>The conventional configuration section name, <c>TailorPO:Diffusion</c>.</summary>
    public const string SectionName = "TailorPO:Diffusion";

    /// <summary>
    /// The diffusers Stable Diffusion folder: <c>model_index.json</c> with the unet, vae, text_encoder,
    /// tokenizer and scheduler sub-folders (e.g. a local copy of stable-diffusion-v1-5). Required; no default.
    /// </summary>
    public string? ModelFolder { get; set; }

    /// <summary>
    /// dtype of the UNet and text encoder weights: Float32 (default), Float16, BFloat16 or Float64.
    /// Float16/BFloat16 halve GPU memory; on CPU Float32 is the fast path.
    /// </summary>
    public ScalarType DType { get; set; } = ScalarType.Float32;

    /// <summary>
    /// dtype of the VAE: Float32 (default), Float16, BFloat16 or Float64. Keep Float32 for SD v1.5,
    /// whose VAE overflows in Float16 (diffusers' force_upcast).
    /// </summary>
    public ScalarType VaeDType { get; set; } = ScalarType.Float32;

    /// <summary>
    /// Where every part lives: <c>"cpu"</c> (default), <c>"cuda"</c> or <c>"cuda:&lt;index&gt;"</c>
    /// (case-insensitive). CUDA needs a CUDA backend package and a visible GPU; it is checked at start.
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// A fresh LoRA adapter on the UNet, or null (default) for none. <c>new LoraConfig()</c> gives the
    /// paper's setting (as D3PO and DDPO): rank 4, alpha = rank, targets to_q, to_k, to_v, to_out.0,
    /// no dropout. With <see cref="LoraAdapterPath"/> also set, the file's weights are loaded into these
    /// adapters (its layers and ranks must match).
    /// </summary>
    public LoraConfig? Lora { get; set; }

    /// <summary>
    /// A LoRA weight file (.safetensors, PEFT/diffusers or kohya-ss layout) to load, or null (default).
    /// Without <see cref="Lora"/> the adapter takes the file's layers, ranks and alphas; with it, the
    /// file must fit the configured adapter (e.g. resuming training from a saved adapter).
    /// </summary>
    public string? LoraAdapterPath { get; set; }

    /// <summary>
    /// Seed of the generator that draws fresh adapters' A matrices (B starts at zero). Default 0.
    /// Unused when only <see cref="LoraAdapterPath"/> is set.
    /// </summary>
    public ulong LoraSeed { get; set; }

    /// <summary>
    /// When true (default) and TailorPO.Core's <c>Schedule.SchedulerConfigPath</c> is unset, Core's noise
    /// schedule (and so its <c>ISampler</c>) is read from <c>&lt;ModelFolder&gt;/scheduler/scheduler_config.json</c>,
    /// the same file the pipeline uses. False keeps Core's own default (SD v1.5's schedule).
    /// </summary>
    public bool UseModelSchedulerForCore { get; set; } = true;

    /// <summary>True when a LoRA adapter is attached: <see cref="Lora"/> or <see cref="LoraAdapterPath"/> is set.</summary>
    public bool UsesLora => Lora is not null || LoraAdapterPath is not null;

    /// <summary>The scheduler config inside <see cref="ModelFolder"/> (null without a folder).</summary>
    public string? SchedulerConfigPath =>
        string.IsNullOrWhiteSpace(ModelFolder) ? null : System.IO.Path.Combine(System.IO.Path.GetFullPath(ModelFolder), "scheduler", "scheduler_config.json");
}
