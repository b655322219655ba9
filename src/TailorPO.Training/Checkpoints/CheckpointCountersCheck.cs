using TailorPO.Training.Options;

namespace TailorPO.Training.Checkpoints;

/// <summary>
/// The checks a checkpoint's counters must pass before a resume trusts them: a checksum proves a file is the one
/// written, not that a hand-edited manifest makes sense (a negative sample count would resume at -100 and overrun the
/// budget). Each problem names the manifest and the field.
/// </summary>
internal static class CheckpointCountersCheck
{
    /// <summary>Every problem of <paramref name="counters"/> (read from <paramref name="manifest"/>) under <paramref name="options"/>.</summary>
    public static IEnumerable<string> Problems(TrainerCounters counters, TailorPOTrainingOptions options, string manifest)
    {
        var fields = new (string Name, long Value)[]
        {
            (nameof(counters.Iterations), counters.Iterations), (nameof(counters.Updates), counters.Updates),
            (nameof(counters.SkippedUpdates), counters.SkippedUpdates), (nameof(counters.Samples), counters.Samples),
            (nameof(counters.NoiseEvaluations), counters.NoiseEvaluations), (nameof(counters.OptimizerSteps), counters.OptimizerSteps),
            (nameof(counters.PromptEpoch), counters.PromptEpoch), (nameof(counters.PromptPosition), counters.PromptPosition),
        };
        var negative = fields.Where(f => f.Value < 0).ToList();
        foreach (var (name, value) in negative)
            yield return $"'{manifest}' has {name} = {value}; a counter cannot be negative.";
        if (negative.Count > 0) yield break;
        if (counters.SkippedUpdates > counters.Updates)
            yield return $"'{manifest}' has SkippedUpdates = {counters.SkippedUpdates}, more than its Updates = {counters.Updates}.";
        if (counters.OptimizerSteps > counters.Updates)
            yield return $"'{manifest}' has OptimizerSteps = {counters.OptimizerSteps}, more than its Updates = {counters.Updates} (each AdamW step follows an update).";
        if (counters.Iterations == 0 && (counters.Samples > 0 || counters.Updates > 0))
            yield return $"'{manifest}' has Iterations = 0 with Samples = {counters.Samples} and Updates = {counters.Updates}; images and updates come from iterations.";
        // The run stops at the first iteration that reaches its budget, so an earlier one cannot have passed it. The built-in
        // methods generate the same number of images every iteration; the average stands in for the last iteration's.
        if (counters.Iterations > 0 && counters.Samples - counters.Samples / counters.Iterations >= options.SampleBudget)
            yield return $"'{manifest}' has Samples = {counters.Samples} after {counters.Iterations} iterations, past the sample budget of " +
                $"{options.SampleBudget} by more than one iteration: give a budget of at least {counters.Samples} to continue this run.";
    }
}
