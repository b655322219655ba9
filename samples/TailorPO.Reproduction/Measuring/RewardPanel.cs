using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// The rewards every evaluated image set is scored with: the two training rewards of the method comparison
/// (JPEG compressibility, colourfulness) and two more analytic ones, so that training on one reward can be read off
/// against the others (section 6). Each is registered exactly as <c>align --reward</c> registers it.
/// </summary>
public sealed class RewardPanel : IDisposable
{
    /// <summary>The CLI names of the panel's rewards, in table order.</summary>
    public static readonly IReadOnlyList<string> Names = ["jpeg-compressibility", "colorfulness", "saturation", "brightness"];

    private readonly List<ServiceProvider> _providers = [];

    /// <summary>Builds every reward of <see cref="Names"/>.</summary>
    public RewardPanel()
    {
        var models = new Dictionary<string, IRewardModel>();
        foreach (var name in Names)
        {
            var services = new ServiceCollection();
            services.AddTailorPORewards(o => RunTraining.ConfigureReward(o, name));
            var provider = services.BuildServiceProvider();
            _providers.Add(provider);
            models[name] = provider.GetRequiredService<IRewardModel>();
        }
        Models = models;
    }

    /// <summary>The reward models by CLI name.</summary>
    public IReadOnlyDictionary<string, IRewardModel> Models { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var provider in _providers) provider.Dispose();
    }
}
