using TailorPO.Core.Options;
using TailorPO.Training.Options;

namespace TailorPO.Training.Methods;

/// <summary>
/// Checks a method's <see cref="ITrainingMethod.Validate"/> is built from: whether the sampler gives log-probabilities,
/// and which method-specific options are set although the method does not use them (a knob that silently does
/// nothing is a mistake the user should hear about at start).
/// </summary>
public static class MethodRequirements
{
    private static readonly TailorPOTrainingOptions Defaults = new();
    private static readonly TailorPOCoreOptions CoreDefaults = new();

    /// <summary>Each method-specific option: its name in messages and its value in a pair of option sets.</summary>
    private static readonly (string Name, Func<TailorPOTrainingOptions, TailorPOCoreOptions, object> Value)[] Specific =
    [
        (nameof(TailorPOTrainingOptions.LoopMode), (o, _) => o.LoopMode),
        (nameof(TailorPOTrainingOptions.Candidates), (o, _) => o.Candidates),
        (nameof(TailorPOTrainingOptions.Pairing), (o, _) => o.Pairing),
        (nameof(TailorPOTrainingOptions.CollectBatches), (o, _) => o.CollectBatches),
        (nameof(TailorPOTrainingOptions.InnerEpochs), (o, _) => o.InnerEpochs),
        (nameof(TailorPOTrainingOptions.D3poSameInitialNoise), (o, _) => o.D3poSameInitialNoise),
        (nameof(TailorPOTrainingOptions.DiffusionDpoGeneratedPairs), (o, _) => o.DiffusionDpoGeneratedPairs),
        ("Loss.Kind", (_, core) => core.Loss.Kind),
    ];

    /// <summary>The method-specific options, by the name the messages and <see cref="UnusedOptions"/> use.</summary>
    public static IReadOnlyList<string> MethodSpecificOptions { get; } = Specific.Select(s => s.Name).ToArray();

    /// <summary>A problem when DDIM eta is 0: the method needs log-probabilities of sampled steps, which need eta &gt; 0.</summary>
    /// <param name="context">The trainer's context.</param>
    /// <param name="method">The method's name, for the message.</param>
    public static IEnumerable<string> LogProbabilities(TrainerContext context, string method)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!(context.Sampler.Eta > 0))
            yield return $"{method} needs log-probabilities of sampled steps, which exist only for DDIM eta > 0; got eta = {context.Sampler.Eta}.";
    }

    /// <summary>
    /// The method-specific options (<see cref="MethodSpecificOptions"/>) that differ from their defaults although the
    /// method does not use them, each named with its value.
    /// </summary>
    /// <param name="context">The trainer's context.</param>
    /// <param name="method">The method's name, for the message.</param>
    /// <param name="used">The options the method reads.</param>
    public static IEnumerable<string> UnusedOptions(TrainerContext context, string method, params string[] used)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(used);
        foreach (var (name, value) in Specific)
        {
            var actual = value(context.Options, context.Core);
            if (!Equals(actual, value(Defaults, CoreDefaults)) && !used.Contains(name, StringComparer.Ordinal))
                yield return $"{(name == "Loss.Kind" ? "TailorPOCoreOptions" : nameof(TailorPOTrainingOptions))}.{name} = {actual} does not apply to {method}; leave it at its default.";
        }
    }
}
