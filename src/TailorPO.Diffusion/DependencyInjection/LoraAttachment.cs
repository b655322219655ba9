using TailorPO.Diffusion.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.DependencyInjection;

/// <summary>
/// The container's one LoRA adapter on the pipeline's UNet: attached once, before the first noise
/// prediction is handed out, so every consumer sees the adapted model.
/// </summary>
internal sealed class LoraAttachment
{
    /// <summary>Key prefix of UNet adapters in diffusers/PEFT files.</summary>
    public const string UNetKeyPrefix = "unet.";

    private readonly Lock _gate = new();
    private bool _attached;
    private LoraAdapter? _adapter;

    /// <summary>Attaches the configured adapter on the first call; null when no LoRA is configured.</summary>
    public LoraAdapter? EnsureAttached(StableDiffusionPipeline pipeline, TailorPODiffusionOptions options)
    {
        lock (_gate)
        {
            if (!_attached)
            {
                _adapter = Attach(pipeline, options);
                _attached = true;
            }
            return _adapter;
        }
    }

    private static LoraAdapter? Attach(StableDiffusionPipeline pipeline, TailorPODiffusionOptions options)
    {
        if (!options.UsesLora) return null;
        if (options.Lora is null)
            return LoraAdapter.FromFile(pipeline.Unet, options.LoraAdapterPath!, UNetKeyPrefix);

        using var generator = new Generator(options.LoraSeed);
        var adapter = LoraAdapter.Attach(pipeline.Unet, options.Lora, generator, UNetKeyPrefix);
        if (options.LoraAdapterPath is null) return adapter;
        try
        {
            adapter.Load(options.LoraAdapterPath);
            return adapter;
        }
        catch
        {
            adapter.Remove();
            throw;
        }
    }
}
