using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TailorPO.Rewards.DependencyInjection;
using TailorPO.Rewards.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TailorPO.RewardModels' services.</summary>
public static class TailorPORewardModelsServiceCollectionExtensions
{
    /// <summary>
    /// Lets <c>AddTailorPORewards</c> build the learned reward kinds (<see cref="RewardKind.LaionAesthetic"/>,
    /// <see cref="RewardKind.ClipScore"/>, <see cref="RewardKind.HpsV2"/>, <see cref="RewardKind.ImageReward"/>):
    /// registers their <see cref="IRewardKindFactory"/>, which checks their members when the host starts and loads
    /// their models when the reward is first resolved, and <see cref="TailorPORewardModelsOptions"/> validated at start
    /// (<c>ValidateOnStart</c>). Call it next to <c>AddTailorPORewards</c>, in either order; calling it twice registers
    /// the factory once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options, e.g. <c>o =&gt; o.ModelDevice = "cuda:0"</c>.</param>
    /// <returns>The options builder, for further configuration or binding.</returns>
    public static OptionsBuilder<TailorPORewardModelsOptions> AddTailorPORewardModels(this IServiceCollection services, Action<TailorPORewardModelsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TailorPORewardModelsOptions>();
        if (configure is not null)
            builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TailorPORewardModelsOptions>, TailorPORewardModelsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRewardKindFactory, LearnedRewardKindFactory>());
        return builder;
    }
}
