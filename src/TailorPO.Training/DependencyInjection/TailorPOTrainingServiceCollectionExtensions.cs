using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Training.Evaluation;
using TailorPO.Training.Guarding;
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
    /// Registers <see cref="TailorPOTrainingOptions"/> (validated at start), the five built-in methods (each through
    /// <see cref="AddMethod"/>, the path your own methods take), an <see cref="IPromptSource"/> (the built-in
    /// animal prompts unless you register one), a transient <see cref="PreferenceTrainer"/> running the method
    /// <see cref="TailorPOTrainingOptions.Method"/> names, and a <see cref="RewardEvaluator"/>. The trainer takes its parts
    /// from the container: Core's <see cref="ISampler"/>, <see cref="NoiseSchedule"/> and losses (<c>AddTailorPOCore</c>),
    /// the <see cref="IStepRewardEstimator"/> / <see cref="IRewardModel"/> / <see cref="ILatentDecoder"/> (<c>AddTailorPORewards</c>
    /// and your model), and from your application an <see cref="IAdapter"/> and an <see cref="IPromptEncoder"/>. TailorPO-G
    /// takes the <see cref="IPreferredSampleRefiner"/> <c>AddTailorPOGuidance</c> registers. Every
    /// <see cref="ITrainingMetricsSink"/> registered receives the metrics; an <see cref="IPreferencePairSource"/>, if
    /// registered, feeds Diffusion-DPO, and an <see cref="ILabelledTrajectorySource"/> (e.g. <see cref="StoredTrajectoryPairs"/>)
    /// switches D3PO to its human-feedback mode (<see cref="LabelledD3poMethod"/>). An <see cref="IGoldMetric"/>, if
    /// registered, is the reward-hacking guard's held-out metric (<see cref="TailorPOTrainingOptions.GoldMetricGuard"/>), and
    /// every <see cref="IGoldMetricSink"/> receives its history. Existing registrations win (TryAdd).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (the defaults are the paper's; <c>LatentShape</c> is required).</param>
    /// <returns>The options builder.</returns>
    public static OptionsBuilder<TailorPOTrainingOptions> AddTailorPOTraining(this IServiceCollection services, Action<TailorPOTrainingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TailorPOTrainingOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPOTrainingOptions>, TailorPOTrainingOptionsValidator>());
        services.TryAddSingleton<IPromptSource, AnimalPromptSource>();

        // The built-ins, unless the application registered its own under their names first.
        bool Free(string name) => !services.Any(d => d.IsKeyedService && d.ServiceType == typeof(ITrainingMethod) && Equals(d.ServiceKey, name));
        if (Free(TrainingMethods.TailorPO)) builder.AddMethod(TrainingMethods.TailorPO, sp => new TailorPOMethod(sp.GetRequiredService<IPairwiseLoss>(), refiner: null, Options(sp).Pairing));
        if (Free(TrainingMethods.TailorPOGuided)) builder.AddMethod(TrainingMethods.TailorPOGuided, sp => new TailorPOMethod(sp.GetRequiredService<IPairwiseLoss>(),
            sp.GetService<IPreferredSampleRefiner>() ?? throw new InvalidOperationException(
                "TailorPO-G needs a guiding refiner: call AddTailorPOGuidance (Enabled = true) with a differentiable reward.")));
        // D3PO samples and ranks its own trajectories, or trains on the labelled ones a registered source holds (its human-feedback mode).
        if (Free(TrainingMethods.D3po)) builder.AddMethod(TrainingMethods.D3po, sp => sp.GetService<ILabelledTrajectorySource>() is { } labelled
            ? new LabelledD3poMethod(sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.D3po), labelled)
            : new D3poMethod(sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.D3po)));
        if (Free(TrainingMethods.Ddpo)) builder.AddMethod(TrainingMethods.Ddpo, sp => new DdpoMethod(sp.GetRequiredService<DdpoClipObjective>(), sp.GetRequiredService<PerPromptStatTracker>(),
            sp.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value.Ddpo.PerPromptStatTracking));
        if (Free(TrainingMethods.DiffusionDpo)) builder.AddMethod(TrainingMethods.DiffusionDpo, sp => new DiffusionDpoMethod(
            sp.GetRequiredKeyedService<IPairwiseLoss>(PairwiseLossNames.DiffusionDpo), sp.GetService<IPreferencePairSource>()));

        services.TryAddTransient(sp =>
        {
            var options = Options(sp);
            return new PreferenceTrainer(ResolveMethod(sp, options.Method), sp.GetRequiredService<ISampler>(),
                sp.GetRequiredService<IStepRewardEstimator>(), sp.GetRequiredService<IRewardModel>(), sp.GetRequiredService<ILatentDecoder>(),
                sp.GetRequiredService<IAdapter>(), sp.GetRequiredService<IPromptEncoder>(),
                sp.GetRequiredService<IPromptSource>(), sp.GetRequiredService<NoiseSchedule>(), options,
                sp.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value, sp.GetServices<ITrainingMetricsSink>(),
                sp.GetService<ILogger<PreferenceTrainer>>(), sp.GetService<IGoldMetric>(), sp.GetServices<IGoldMetricSink>());
        });
        services.TryAddTransient(sp => new RewardEvaluator(sp.GetRequiredService<ISampler>(), sp.GetRequiredService<ILatentDecoder>(),
            sp.GetRequiredService<IRewardModel>(), sp.GetRequiredService<IPromptEncoder>(), sp.GetRequiredService<IAdapter>()));
        return builder;
    }

    /// <summary>
    /// Registers a training method under <paramref name="name"/> (a keyed transient <see cref="ITrainingMethod"/>): set
    /// <see cref="TailorPOTrainingOptions.Method"/> to that name and <see cref="PreferenceTrainer"/> runs it, e.g.
    /// <c>services.AddTailorPOTraining(o =&gt; o.Method = "mine").AddMethod("mine", sp =&gt; new MyMethod(...))</c>. The
    /// built-in methods are registered this way; registering a built-in name again replaces it.
    /// </summary>
    /// <param name="builder">The training options' builder (<c>AddTailorPOTraining</c> returns it).</param>
    /// <param name="name">The method's name (options, metrics and checkpoints use it).</param>
    /// <param name="factory">Creates the method (one per trainer), taking its parts (loss, refiner, ...) from the container.</param>
    /// <returns>The builder, for chaining.</returns>
    public static OptionsBuilder<TailorPOTrainingOptions> AddMethod(this OptionsBuilder<TailorPOTrainingOptions> builder, string name,
        Func<IServiceProvider, ITrainingMethod> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAllKeyed<ITrainingMethod>(name);
        builder.Services.AddKeyedTransient<ITrainingMethod>(name, (sp, _) => factory(sp));
        builder.Services.AddSingleton(new TrainingMethodRegistration(name));
        return builder;
    }

    private static ITrainingMethod ResolveMethod(IServiceProvider sp, string name)
    {
        if (sp.GetKeyedService<ITrainingMethod>(name) is { } method) return method;
        var known = sp.GetServices<TrainingMethodRegistration>().Select(r => r.Name).Distinct(StringComparer.Ordinal);
        throw new InvalidOperationException(
            $"TailorPOTrainingOptions.Method '{name}' names no registered method; registered: {string.Join(", ", known)}. Add yours with AddTailorPOTraining(...).AddMethod(name, factory).");
    }

    private static TailorPOTrainingOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<TailorPOTrainingOptions>>().Value;
}
