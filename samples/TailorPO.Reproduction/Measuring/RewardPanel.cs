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

    /// <summary>
    /// Learned rewards scored only for the runs trained on them (the headline section's embedded preference model): not
    /// in <see cref="Names"/>, so the evaluations of every other run, and the cache a work folder already holds, are
    /// unchanged by their existence.
    /// </summary>
    public static readonly IReadOnlyList<string> LearnedNames = ["preference"];

    /// <summary>True when an evaluation of a run trained on <paramref name="reward"/> scores that reward itself.</summary>
    public static bool Scores(string reward) => Names.Contains(reward) || LearnedNames.Contains(reward);

    private readonly List<ServiceProvider> _providers = [];
    private readonly Dictionary<string, IRewardModel> _learned = [];

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

    /// <summary>The learned reward <paramref name="name"/> of <see cref="LearnedNames"/>, built at first use.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a learned reward of the panel.</exception>
    public IRewardModel Learned(string name)
    {
        if (!LearnedNames.Contains(name))
            throw new ArgumentOutOfRangeException(nameof(name), name, $"The panel's learned rewards are {string.Join(", ", LearnedNames)}.");
        if (_learned.TryGetValue(name, out var known)) return known;
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => RunTraining.ConfigureReward(o, name));
        services.AddTailorPORewardModels();
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return _learned[name] = provider.GetRequiredService<IRewardModel>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var provider in _providers) provider.Dispose();
    }
}
