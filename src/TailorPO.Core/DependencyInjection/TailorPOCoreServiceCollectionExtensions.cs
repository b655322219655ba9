using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.Core's schedule, sampler, losses and options in a service collection.</summary>
public static class TailorPOCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds TailorPO.Core. Registered (all singletons unless noted; existing registrations win):
    /// <list type="bullet">
    /// <item><see cref="TailorPOCoreOptions"/> (validated at start by <see cref="TailorPOCoreOptionsValidator"/>).</item>
    /// <item><see cref="SchedulerConfig"/> (the configured file, or SD v1.5), <see cref="NoiseSchedule"/>,
    /// <see cref="DdimTimesteps"/> and <see cref="DdimStepMath"/> for the configured steps.</item>
    /// <item><see cref="DpoLoss"/>, <see cref="D3poLoss"/>, <see cref="TailorPOLoss"/>, <see cref="DiffusionDpoLoss"/>,
    /// each also as a keyed <see cref="IPairwiseLoss"/> under its <see cref="PairwiseLossNames"/> name; the
    /// unkeyed <see cref="IPairwiseLoss"/> is the one <see cref="PreferenceLossOptions.Kind"/> selects.</item>
    /// <item><see cref="DdpoClipObjective"/>, and <see cref="PerPromptStatTracker"/> (transient: one per run).</item>
    /// <item><see cref="ISampler"/> = <see cref="DdimSampler"/> over the <see cref="INoisePredictor"/> the host
    /// registers (e.g. TailorPO.Diffusion's UNet); it resolves only once one is registered.</item>
    /// </list>
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options (every default is the paper's); optional.</param>
    /// <returns>The options builder, for further configuration or binding (e.g. <c>.Bind(section)</c>).</returns>
    public static OptionsBuilder<TailorPOCoreOptions> AddTailorPOCore(this IServiceCollection services, Action<TailorPOCoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var builder = services.AddOptions<TailorPOCoreOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPOCoreOptions>, TailorPOCoreOptionsValidator>());

        services.TryAddSingleton(sp =>
        {
            var path = Options(sp).Schedule.SchedulerConfigPath;
            return path is null ? SchedulerConfig.StableDiffusionV15 : SchedulerConfig.FromFile(path);
        });
        services.TryAddSingleton(sp => new NoiseSchedule(sp.GetRequiredService<SchedulerConfig>()));
        services.TryAddSingleton(sp =>
        {
            var sampling = Options(sp).Sampling;
            return new DdimTimesteps(sp.GetRequiredService<SchedulerConfig>(), sampling.InferenceSteps, sampling.TimestepSpacing);
        });
        services.TryAddSingleton(sp => new DdimStepMath(sp.GetRequiredService<NoiseSchedule>(), sp.GetRequiredService<DdimTimesteps>()));

        services.TryAddSingleton(sp => new DpoLoss(Options(sp).Loss.Beta));
        services.TryAddSingleton(sp => new D3poLoss(Options(sp).Loss.Beta, Options(sp).Loss.D3poClampEpsilon));
        services.TryAddSingleton(sp => new TailorPOLoss(Options(sp).Loss.Beta, Options(sp).Loss.TailorPOClampEpsilon));
        services.TryAddSingleton(sp => new DiffusionDpoLoss(Options(sp).Loss.DiffusionDpoBeta));
        services.TryAddKeyedSingleton<IPairwiseLoss>(PairwiseLossNames.Dpo, (sp, _) => sp.GetRequiredService<DpoLoss>());
        services.TryAddKeyedSingleton<IPairwiseLoss>(PairwiseLossNames.D3po, (sp, _) => sp.GetRequiredService<D3poLoss>());
        services.TryAddKeyedSingleton<IPairwiseLoss>(PairwiseLossNames.TailorPO, (sp, _) => sp.GetRequiredService<TailorPOLoss>());
        services.TryAddKeyedSingleton<IPairwiseLoss>(PairwiseLossNames.DiffusionDpo, (sp, _) => sp.GetRequiredService<DiffusionDpoLoss>());
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.Of(Options(sp).Loss.Kind)));

        services.TryAddSingleton(sp => new DdpoClipObjective(Options(sp).Ddpo.ClipRange, Options(sp).Ddpo.AdvantageClip));
        services.TryAddTransient(sp => new PerPromptStatTracker(Options(sp).Ddpo.StatBufferSize, Options(sp).Ddpo.StatMinCount));

        services.TryAddSingleton<ISampler>(sp => new DdimSampler(
            sp.GetRequiredService<INoisePredictor>(), sp.GetRequiredService<NoiseSchedule>(), Options(sp).Sampling));

        return builder;
    }

    private static TailorPOCoreOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value;
}
