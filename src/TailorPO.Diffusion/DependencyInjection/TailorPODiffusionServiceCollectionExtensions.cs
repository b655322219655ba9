using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Diffusion.DependencyInjection;
using TailorPO.Diffusion.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Diffusion.Tokenization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.Diffusion's Stable Diffusion parts.</summary>
public static class TailorPODiffusionServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons (existing registrations of these types are kept, TryAdd):
    /// <list type="bullet">
    /// <item><see cref="TailorPODiffusionOptions"/>, validated at start (<c>ValidateOnStart</c>) without loading weights.</item>
    /// <item><see cref="StableDiffusionPipeline"/>, loaded from <see cref="TailorPODiffusionOptions.ModelFolder"/> on first
    /// resolve (the container disposes it), with the configured LoRA adapter attached to its UNet.</item>
    /// <item><see cref="INoisePredictor"/> = the pipeline's <see cref="TailorPO.Diffusion.UNet.UNetNoisePredictor"/> (adapted
    /// when LoRA is configured), <see cref="ILatentDecoder"/> = its <see cref="TailorPO.Diffusion.Vae.VaeLatentDecoder"/> (the
    /// <see cref="PixelSpaceDecoder"/> for a pixel-space folder without a VAE), its <see cref="ClipTokenizer"/>, and
    /// <see cref="IPromptEncoder"/> = a <see cref="PipelinePromptEncoder"/> (what the trainers encode prompts with).</item>
    /// <item><see cref="IAdapter"/> and <see cref="LoraAdapter"/>: the UNet's adapter when
    /// <see cref="TailorPODiffusionOptions.Lora"/> or <see cref="TailorPODiffusionOptions.LoraAdapterPath"/> is set;
    /// otherwise resolving them throws an <see cref="InvalidOperationException"/> that names both options (a factory
    /// never returns null).</item>
    /// </list>
    /// With <c>AddTailorPOCore</c> (in any order) Core's <see cref="ISampler"/> runs over this
    /// <see cref="INoisePredictor"/>, and unless Core's <c>Schedule.SchedulerConfigPath</c> is set Core reads its
    /// schedule from the folder's <c>scheduler/scheduler_config.json</c>
    /// (<see cref="TailorPODiffusionOptions.UseModelSchedulerForCore"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options, e.g. <c>o =&gt; o.ModelFolder = "/models/sd-v1-5"</c>.</param>
    /// <returns>The options builder, for further configuration or binding.</returns>
    public static OptionsBuilder<TailorPODiffusionOptions> AddTailorPODiffusion(this IServiceCollection services, Action<TailorPODiffusionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TailorPODiffusionOptions>();
        if (configure is not null)
            builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPODiffusionOptions>, TailorPODiffusionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<TailorPOCoreOptions>, ModelFolderSchedule>());

        services.TryAddSingleton<LoraAttachment>();
        services.TryAddSingleton<StableDiffusionPipeline>(sp =>
        {
            var options = Options(sp);
            if (!DeviceNames.TryParse(options.Device, out var device))
                throw new InvalidOperationException($"TailorPODiffusionOptions.Device '{options.Device}' is not a device name; expected {DeviceNames.Expected}.");
            var pipeline = StableDiffusionPipeline.FromPretrained(options.ModelFolder!, new StableDiffusionLoadOptions
            {
                DType = options.DType,
                VaeDType = options.VaeDType,
                Device = device,
                LoggerFactory = sp.GetService<ILoggerFactory>(), // the loaders' report, when the application logs
            });
            try
            {
                sp.GetRequiredService<LoraAttachment>().EnsureAttached(pipeline, options);
                return pipeline;
            }
            catch
            {
                pipeline.Dispose();
                throw;
            }
        });

        // Every part goes through the pipeline service, so the adapter is attached before any part is handed out.
        services.TryAddSingleton<LoraAdapter>(RequiredAdapter);
        services.TryAddSingleton<IAdapter>(RequiredAdapter);
        services.TryAddSingleton<INoisePredictor>(sp =>
        {
            Adapter(sp);
            return sp.GetRequiredService<StableDiffusionPipeline>().NoisePredictor;
        });
        services.TryAddSingleton<ILatentDecoder>(sp => sp.GetRequiredService<StableDiffusionPipeline>().Decoder);
        services.TryAddSingleton<IPromptEncoder>(sp => new PipelinePromptEncoder(sp.GetRequiredService<StableDiffusionPipeline>()));
        services.TryAddSingleton<ClipTokenizer>(sp => sp.GetRequiredService<StableDiffusionPipeline>().Tokenizer);
        return builder;
    }

    private static TailorPODiffusionOptions Options(IServiceProvider sp) =>
        sp.GetRequiredService<IOptions<TailorPODiffusionOptions>>().Value;

    // A factory never hands out null (GetService would then look like "not registered" while GetRequiredService
    // fails with a message that names no option), so a container without LoRA options refuses with the fix.
    private static LoraAdapter RequiredAdapter(IServiceProvider sp) => Adapter(sp) ?? throw new InvalidOperationException(
        "No LoRA adapter is configured, so IAdapter and LoraAdapter cannot be resolved: set TailorPODiffusionOptions.Lora " +
        "(a fresh adapter, e.g. new LoraConfig { Rank = 4 }) or TailorPODiffusionOptions.LoraAdapterPath (a saved PEFT or kohya-ss file) " +
        "in AddTailorPODiffusion, or register your own IAdapter before calling it.");

    private static LoraAdapter? Adapter(IServiceProvider sp) =>
        sp.GetRequiredService<LoraAttachment>().EnsureAttached(sp.GetRequiredService<StableDiffusionPipeline>(), Options(sp));
}
