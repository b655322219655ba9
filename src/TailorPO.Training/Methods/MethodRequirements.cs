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

    /// <summary>The method-specific options, by the name the messages and <see cref="UnusedOptions"/> use.</summary>
    public static IReadOnlyList<string> MethodSpecificOptions { get; } =
    [
        nameof(TailorPOTrainingOptions.LoopMode), nameof(TailorPOTrainingOptions.Candidates), nameof(TailorPOTrainingOptions.Pairing),
        nameof(TailorPOTrainingOptions.CollectBatches), nameof(TailorPOTrainingOptions.InnerEpochs),
        nameof(TailorPOTrainingOptions.D3poSameInitialNoise), nameof(TailorPOTrainingOptions.DiffusionDpoGeneratedPairs), "Loss.Kind",
    ];

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
        var o = context.Options;
        var set = new (string Name, bool Changed, object Value)[]
        {
            (nameof(o.LoopMode), o.LoopMode != Defaults.LoopMode, o.LoopMode),
            (nameof(o.Candidates), o.Candidates != Defaults.Candidates, o.Candidates),
            (nameof(o.Pairing), o.Pairing != Defaults.Pairing, o.Pairing),
            (nameof(o.CollectBatches), o.CollectBatches != Defaults.CollectBatches, o.CollectBatches),
            (nameof(o.InnerEpochs), o.InnerEpochs != Defaults.InnerEpochs, o.InnerEpochs),
            (nameof(o.D3poSameInitialNoise), o.D3poSameInitialNoise != Defaults.D3poSameInitialNoise, o.D3poSameInitialNoise),
            (nameof(o.DiffusionDpoGeneratedPairs), o.DiffusionDpoGeneratedPairs != Defaults.DiffusionDpoGeneratedPairs, o.DiffusionDpoGeneratedPairs),
            ("Loss.Kind", context.Core.Loss.Kind != CoreDefaults.Loss.Kind, context.Core.Loss.Kind),
        };
        foreach (var (name, changed, value) in set)
            if (changed && !used.Contains(name, StringComparer.Ordinal))
                yield return $"{(name == "Loss.Kind" ? "TailorPOCoreOptions" : nameof(TailorPOTrainingOptions))}.{name} = {value} does not apply to {method}; leave it at its default.";
    }
}
