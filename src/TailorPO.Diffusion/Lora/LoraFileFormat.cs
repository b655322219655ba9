namespace TailorPO.Diffusion.Lora;

/// <summary>The LoRA file layouts this library reads.</summary>
public enum LoraFileFormat
{
    /// <summary>PEFT / diffusers: <c>unet.&lt;module path&gt;.lora_A.weight</c> and <c>.lora_B.weight</c>, alpha in <c>__metadata__</c>.</summary>
    Peft,

    /// <summary>kohya-ss: <c>lora_unet_&lt;module path with '_'&gt;.lora_down.weight</c>, <c>.lora_up.weight</c> and a per-layer <c>.alpha</c>.</summary>
    Kohya,
}
