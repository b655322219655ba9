using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Numerics;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Guidance;
using TailorPO.Training.Evaluation;
using TailorPO.Training.Methods;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using TailorPO.Training.Pairs;
using TailorPO.Training.Prompts;
using TailorPO.Training;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.Training's reference trainers.</summary>
public static class TailorPOTrainingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TailorPOTrainingOptions"/> (validated at start), the <see cref="ITrainingMethod"/> the options
    /// select, an <see cref="IPromptSource"/> (the built-in animal prompts unless you register one), a transient
    /// <see cref="PreferenceTrainer"/> and a <see cref="RewardEvaluator"/>. The trainer takes its parts from the container:
    /// Core's <see cref="ISampler"/>, <see cref="NoiseSchedule"/> and losses (<c>AddTailorPOCore</c>), the
    /// <see cref="IStepRewardEstimator"/> / <see cref="IRewardModel"/> / <see cref="ILatentDecoder"/> (<c>AddTailorPORewards</c> and
    /// your model), the <see cref="IPreferredSampleRefiner"/> (<c>AddTailorPOGuidance</c>), and from your application an
    /// <see cref="IAdapter"/> and an <see cref="IPromptEncoder"/>. Every <see cref="ITrainingMetricsSink"/> registered receives
    /// the metrics; an <see cref="IPreferencePairSource"/>, if registered, feeds Diffusion-DPO. Existing registrations win (TryAdd).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (the defaults are the paper's; <c>LatentShape</c> is required).</param>
    /// <returns>The options builder.</returns>
    public static OptionsBuilder<TailorPOTrainingOptions> AddTailorPOTraining(this IServiceCollection services, Action<TailorPOTrainingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        TorchNumerics.EnsureGuarded(); // the CPU numerics guard, decided once per process (TorchNumerics)
        var builder = services.AddOptions<TailorPOTrainingOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPOTrainingOptions>, TailorPOTrainingOptionsValidator>());
        services.TryAddSingleton<IPromptSource, AnimalPromptSource>();
        services.TryAddTransient<ITrainingMethod>(sp => Options(sp).Method switch
        {
            TrainingMethod.TailorPO => new TailorPOMethod(guided: false, Options(sp).Pairing),
            TrainingMethod.TailorPOG => new TailorPOMethod(guided: true),
            TrainingMethod.D3po => new D3poMethod(),
            TrainingMethod.Ddpo => new DdpoMethod(sp.GetRequiredService<DdpoClipObjective>(), sp.GetRequiredService<PerPromptStatTracker>(),
                sp.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value.Ddpo.PerPromptStatTracking),
            TrainingMethod.DiffusionDpo => new DiffusionDpoMethod(sp.GetService<IPreferencePairSource>()),
            var other => throw new InvalidOperationException($"Unknown training method {other}."),
        });
        services.TryAddTransient(sp =>
        {
            var options = Options(sp);
            var loss = options.Method switch
            {
                TrainingMethod.D3po => sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.D3po),
                TrainingMethod.DiffusionDpo => sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.DiffusionDpo),
                TrainingMethod.Ddpo => sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.TailorPO), // unused by DDPO
                _ => sp.GetRequiredService<IPairwiseLoss>(),
            };
            return new PreferenceTrainer(sp.GetRequiredService<ITrainingMethod>(), sp.GetRequiredService<ISampler>(),
                sp.GetRequiredService<IStepRewardEstimator>(), sp.GetRequiredService<IRewardModel>(), sp.GetRequiredService<ILatentDecoder>(),
                sp.GetRequiredService<IPreferredSampleRefiner>(), loss, sp.GetRequiredService<IAdapter>(), sp.GetRequiredService<IPromptEncoder>(),
                sp.GetRequiredService<IPromptSource>(), sp.GetRequiredService<NoiseSchedule>(), options,
                sp.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value, sp.GetServices<ITrainingMetricsSink>(),
                sp.GetService<ILogger<PreferenceTrainer>>());
        });
        services.TryAddTransient(sp => new RewardEvaluator(sp.GetRequiredService<ISampler>(), sp.GetRequiredService<ILatentDecoder>(),
            sp.GetRequiredService<IRewardModel>(), sp.GetRequiredService<IPromptEncoder>(), sp.GetRequiredService<IAdapter>()));
        return builder;
    }

    private static TailorPOTrainingOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<TailorPOTrainingOptions>>().Value;
}
