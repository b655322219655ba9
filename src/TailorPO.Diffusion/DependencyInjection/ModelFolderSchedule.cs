using Microsoft.Extensions.Options;
using TailorPO.Core.Options;
using TailorPO.Diffusion.Options;

namespace TailorPO.Diffusion.DependencyInjection;

/// <summary>
/// Points TailorPO.Core's schedule at the model folder's <c>scheduler/scheduler_config.json</c> when Core's
/// <see cref="NoiseScheduleOptions.SchedulerConfigPath"/> is unset, so Core's sampler and the pipeline
/// share one schedule. An explicit path wins; an invalid diffusion configuration leaves Core alone
/// (its own validator reports the problem).
/// </summary>
internal sealed class ModelFolderSchedule(IOptionsMonitor<TailorPODiffusionOptions> diffusion) : IPostConfigureOptions<TailorPOCoreOptions>
{
    public void PostConfigure(string? name, TailorPOCoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Schedule is null || options.Schedule.SchedulerConfigPath is not null) return;

        TailorPODiffusionOptions settings;
        try
        {
            settings = diffusion.CurrentValue;
        }
        catch (OptionsValidationException)
        {
            return;
        }

        if (settings.UseModelSchedulerForCore && settings.SchedulerConfigPath is { } path && File.Exists(path))
            options.Schedule.SchedulerConfigPath = path;
    }
}
