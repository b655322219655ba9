namespace TailorPO.Diffusion.Lora;

/// <summary>The LoRA file layouts this library reads; <see cref="Peft"/> and <see cref="Kohya"/> are also written.</summary>
public enum LoraFileFormat
{
    /// <summary>
    /// PEFT / diffusers: <c>unet.&lt;module path&gt;.lora_A.weight</c> and <c>.lora_B.weight</c>, alpha in <c>__metadata__</c>
    /// (or in <c>adapter_config.json</c> for a PEFT folder, whose keys start with <c>base_model.model.</c>).
    /// </summary>
    Peft,

    /// <summary>kohya-ss, as A1111 and ComfyUI load it: <c>lora_unet_&lt;module path with '_'&gt;.lora_down.weight</c>, <c>.lora_up.weight</c> and a per-layer <c>.alpha</c>.</summary>
    Kohya,

    /// <summary>diffusers 0.21's LoRALinearLayer (read only): <c>unet.&lt;module path&gt;.lora.down.weight</c> and <c>.lora.up.weight</c>.</summary>
    DiffusersLoraLayers,

    /// <summary>diffusers' <c>save_attn_procs</c> (read only): <c>&lt;attention path&gt;.processor.to_q_lora.down.weight</c>, <c>.up.weight</c>.</summary>
    DiffusersAttentionProcessors,
}
