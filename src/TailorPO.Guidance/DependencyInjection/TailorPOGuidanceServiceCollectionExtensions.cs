using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Guidance.Options;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Guidance;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.Guidance's services.</summary>
public static class TailorPOGuidanceServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons: the configured <see cref="IGuidanceSchedule"/>, the
    /// <see cref="IPreferredSampleRefiner"/> (<see cref="RewardGradientRefiner"/> when
    /// <see cref="TailorPOGuidanceOptions.Enabled"/>, else <see cref="NoOpRefiner"/>) and
    /// <see cref="TailorPOGuidanceOptions"/> validated at start. The gradient refiner needs an
    /// <see cref="IStepRewardEstimator"/> with a differentiable reward (e.g. from <c>AddTailorPORewards</c>);
    /// resolving it with a non-differentiable one throws <see cref="NonDifferentiableRewardException"/>.
    /// Existing registrations of these service types are kept (TryAdd).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options; the defaults are the paper's.</param>
    /// <returns>The options builder, for further configuration or binding.</returns>
    public static OptionsBuilder<TailorPOGuidanceOptions> AddTailorPOGuidance(this IServiceCollection services, Action<TailorPOGuidanceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TailorPOGuidanceOptions>();
        if (configure is not null)
            builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPOGuidanceOptions>, TailorPOGuidanceOptionsValidator>());

        services.TryAddSingleton<IGuidanceSchedule>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TailorPOGuidanceOptions>>().Value;
            return options.Schedule == GuidanceScheduleKind.Constant
                ? new ConstantGuidanceSchedule(options.ConstantEta)
                : new CosineGuidanceSchedule(options.EtaMin, options.EtaMax);
        });
        services.TryAddSingleton<IPreferredSampleRefiner>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TailorPOGuidanceOptions>>().Value;
            if (!options.Enabled)
                return NoOpRefiner.Instance;
            var estimator = sp.GetService<IStepRewardEstimator>() ?? throw new InvalidOperationException(
                "TailorPO-G guidance needs an IStepRewardEstimator: call AddTailorPORewards(...) or register one, or set TailorPOGuidanceOptions.Enabled = false.");
            return new RewardGradientRefiner(estimator, sp.GetRequiredService<IGuidanceSchedule>(), options.Delta,
                options.RequireImprovement, options.ComputeOpposite);
        });
        return builder;
    }
}
