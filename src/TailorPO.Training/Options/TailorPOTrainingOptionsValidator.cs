using Microsoft.Extensions.Options;
using TailorPO.Core.Numerics;

namespace TailorPO.Training.Options;

/// <summary>Validates <see cref="TailorPOTrainingOptions"/>: every bad knob in one result.</summary>
public sealed class TailorPOTrainingOptionsValidator : IValidateOptions<TailorPOTrainingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPOTrainingOptions options)
    {
        // The host validates options at start: the CPU numerics guard decides there, once per process (TorchNumerics).
        TorchNumerics.EnsureGuarded();
        var failures = Check(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The problems of <paramref name="o"/>, each naming the knob, what it got and what it needs.</summary>
    public static IEnumerable<string> Check(TailorPOTrainingOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        const string p = nameof(TailorPOTrainingOptions);
        if (string.IsNullOrWhiteSpace(o.Method)) yield return $"{p}.Method is empty: name a registered method (built-in: {string.Join(", ", TrainingMethods.BuiltIn)}).";
        if (!Enum.IsDefined(o.LoopMode)) yield return $"{p}.LoopMode {o.LoopMode} is not a loop mode.";
        if (!Enum.IsDefined(o.Pairing)) yield return $"{p}.Pairing {o.Pairing} is not a pairing.";
        if (o.Candidates is < 2 or > 16) yield return $"{p}.Candidates must lie in [2, 16] (paper: 2); got {o.Candidates}.";
        if (o.BatchSize < 1) yield return $"{p}.BatchSize must be >= 1 (paper: 2); got {o.BatchSize}.";
        if (o.SampleBudget < 1) yield return $"{p}.SampleBudget must be >= 1 (paper: 10000); got {o.SampleBudget}.";
        if (o.CollectBatches < 1) yield return $"{p}.CollectBatches must be >= 1; got {o.CollectBatches}.";
        if (o.InnerEpochs < 1) yield return $"{p}.InnerEpochs must be >= 1; got {o.InnerEpochs}.";
        if (!(o.LearningRate > 0) || !double.IsFinite(o.LearningRate)) yield return $"{p}.LearningRate must be finite and > 0 (paper: 3e-5); got {o.LearningRate}.";
        if (!(o.AdamBeta1 >= 0 && o.AdamBeta1 < 1)) yield return $"{p}.AdamBeta1 must lie in [0, 1) (0.9); got {o.AdamBeta1}.";
        if (!(o.AdamBeta2 >= 0 && o.AdamBeta2 < 1)) yield return $"{p}.AdamBeta2 must lie in [0, 1) (0.999); got {o.AdamBeta2}.";
        if (!(o.AdamEpsilon > 0) || !double.IsFinite(o.AdamEpsilon)) yield return $"{p}.AdamEpsilon must be finite and > 0 (1e-8); got {o.AdamEpsilon}.";
        if (!(o.WeightDecay >= 0) || !double.IsFinite(o.WeightDecay)) yield return $"{p}.WeightDecay must be finite and >= 0 (1e-4); got {o.WeightDecay}.";
        if (o.MaxGradNorm is { } clip && (!(clip > 0) || !double.IsFinite(clip))) yield return $"{p}.MaxGradNorm must be finite and > 0, or null; got {clip}.";
        if (o.GradientAccumulationSteps < 1) yield return $"{p}.GradientAccumulationSteps must be >= 1; got {o.GradientAccumulationSteps}.";
        if (o.LatentShape is null) yield return $"{p}.LatentShape is required: [C, H, W] of one latent (SD v1.5: [4, 64, 64]).";
        else if (o.LatentShape.Length != 3 || o.LatentShape.Any(d => d < 1)) yield return $"{p}.LatentShape must be three positive sizes [C, H, W]; got [{string.Join(", ", o.LatentShape)}].";
        if (o.MaxConsecutiveNonFiniteUpdates < 1) yield return $"{p}.MaxConsecutiveNonFiniteUpdates must be >= 1; got {o.MaxConsecutiveNonFiniteUpdates}.";
        if (o.CheckpointEveryIterations < 0) yield return $"{p}.CheckpointEveryIterations must be >= 0 (0: only at the end); got {o.CheckpointEveryIterations}.";
        if (o.CheckpointDirectory is { Length: 0 }) yield return $"{p}.CheckpointDirectory is empty; use null for no checkpoints.";
        if (o.GoldMetricGuard is not { } guard) yield return $"{p}.GoldMetricGuard is null; use new GoldMetricGuardOptions() (EveryImages = 0) for no guard.";
        else
        {
            if (guard.EveryImages < 0) yield return $"{p}.GoldMetricGuard.EveryImages must be >= 0 (0: the guard is off); got {guard.EveryImages}.";
            if (guard.Patience < 1) yield return $"{p}.GoldMetricGuard.Patience must be >= 1 (default 2); got {guard.Patience}.";
            if (!(guard.Tolerance >= 0) || !double.IsFinite(guard.Tolerance)) yield return $"{p}.GoldMetricGuard.Tolerance must be finite and >= 0 (default 0); got {guard.Tolerance}.";
        }
        if (o.DiffusionDpoGeneratedPairs < 1) yield return $"{p}.DiffusionDpoGeneratedPairs must be >= 1; got {o.DiffusionDpoGeneratedPairs}.";
    }
}
