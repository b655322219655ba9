using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Rewards.DependencyInjection;
using TailorPO.Rewards.Options;
using TailorPO.Rewards.StepRewards;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.Rewards' services.</summary>
public static class TailorPORewardsServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons: the configured <see cref="IRewardModel"/> (one reward, or a
    /// <see cref="TailorPO.Rewards.Ensemble.RewardEnsemble"/> of several), the
    /// <see cref="StepRewardEstimator"/> as <see cref="IStepRewardEstimator"/>, and
    /// <see cref="TailorPORewardsOptions"/> validated at start (<c>ValidateOnStart</c>). The estimator
    /// decodes with the container's <see cref="ILatentDecoder"/> (register the VAE decoder) unless
    /// <see cref="TailorPORewardsOptions.UsePixelSpaceDecoder"/> is set. Existing registrations of
    /// these service types are kept (TryAdd).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options, e.g. <c>o => o.Add(RewardKind.Colorfulness)</c>.</param>
    /// <returns>The options builder, for further configuration or binding.</returns>
    public static OptionsBuilder<TailorPORewardsOptions> AddTailorPORewards(this IServiceCollection services, Action<TailorPORewardsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TailorPORewardsOptions>();
        if (configure is not null)
            builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPORewardsOptions>, TailorPORewardsOptionsValidator>());

        services.TryAddSingleton<IRewardModel>(sp => RewardFactory.Create(sp, sp.GetRequiredService<IOptions<TailorPORewardsOptions>>().Value));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TailorPORewardsOptions>>().Value;
            var decoder = options.UsePixelSpaceDecoder
                ? new IdentityLatentDecoder(options.PixelSpaceRange)
                : sp.GetService<ILatentDecoder>() ?? throw new InvalidOperationException(
                    "No ILatentDecoder is registered: register the VAE decoder as ILatentDecoder, or set TailorPORewardsOptions.UsePixelSpaceDecoder for a pixel-space model.");
            return new StepRewardEstimator(decoder, sp.GetRequiredService<IRewardModel>());
        });
        services.TryAddSingleton<IStepRewardEstimator>(sp => sp.GetRequiredService<StepRewardEstimator>());
        return builder;
    }
}
