using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Commands;
using static TorchSharp.torch;

namespace TailorPO.Samples.Cli;

/// <summary>Loads the pipeline (and LoRA) a command's <see cref="ModelSettings"/> name.</summary>
public static class ModelLoader
{
    /// <summary>Key prefix of UNet adapters in PEFT/diffusers LoRA files.</summary>
    public const string LoraKeyPrefix = "unet.";

    /// <summary>Loads the model folder on <paramref name="device"/> and attaches the LoRA, if any.</summary>
    /// <exception cref="BadInputException">The folder or the LoRA file does not fit (the message says what).</exception>
    public static StableDiffusionPipeline Load(ModelSettings settings, Device device) => Load(settings, device, out _);

    /// <summary>Loads the model folder and attaches the LoRA, if any, returning the adapter (null without one).</summary>
    /// <exception cref="BadInputException">The folder or the LoRA file does not fit (the message says what).</exception>
    public static StableDiffusionPipeline Load(ModelSettings settings, Device device, out LoraAdapter? adapter)
    {
        ArgumentNullException.ThrowIfNull(settings);
        adapter = null;
        StableDiffusionPipeline pipeline;
        try
        {
            pipeline = StableDiffusionPipeline.FromPretrained(settings.ModelFolder, new StableDiffusionLoadOptions { Device = device });
        }
        catch (Exception e) when (e is Core.Errors.TailorPOException or IOException or InvalidDataException)
        {
            throw new BadInputException($"The model folder '{settings.ModelFolder}' cannot be loaded: {e.Message}", e);
        }

        if (settings.Lora is null) return pipeline;
        try
        {
            adapter = LoraAdapter.FromFile(pipeline.Unet, settings.Lora, LoraKeyPrefix);
            return pipeline;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            pipeline.Dispose();
            throw new BadInputException($"The LoRA file '{settings.Lora}' does not fit the model in '{settings.ModelFolder}': {e.Message}", e);
        }
    }
}
