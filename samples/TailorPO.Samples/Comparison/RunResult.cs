namespace TailorPO.Samples.Comparison;

/// <summary>What one training run of <c>compare</c> measured at each evaluation stage (saved as JSON in its run folder).</summary>
/// <param name="Run">The configuration and seed.</param>
/// <param name="Stages">One entry per evaluation stage, in order; the last is the full budget.</param>
public sealed record RunResult(ComparisonRun Run, IReadOnlyList<StageResult> Stages)
{
    /// <summary>The last stage (the full budget).</summary>
    public StageResult Final => Stages[^1];
}

/// <summary>One evaluation stage of a run.</summary>
/// <param name="Samples">Final images the run had generated (the budget count).</param>
/// <param name="NoiseEvaluations">Model (UNet) evaluations so far, a CFG pair counting once per sample.</param>
/// <param name="TrainSeconds">Training wall time so far (evaluation excluded).</param>
/// <param name="Scores">The evaluated rewards of the LoRA at this point.</param>
public sealed record StageResult(long Samples, long NoiseEvaluations, double TrainSeconds, ImageSetScores Scores);
