using TailorPO.Reproduction.Measuring;

namespace TailorPO.Reproduction.Runs;

/// <summary>What one training run measured at each of its evaluation points, in increasing image counts.</summary>
/// <param name="Run">The configuration and seed.</param>
/// <param name="Stages">One entry per evaluation point.</param>
public sealed record RunResult(ComparisonRun Run, IReadOnlyList<StageResult> Stages)
{
    /// <summary>The stage at exactly <paramref name="images"/> images.</summary>
    /// <exception cref="InvalidOperationException">The run was not evaluated there.</exception>
    public StageResult At(long images) => Stages.FirstOrDefault(s => s.Samples == images)
        ?? throw new InvalidOperationException($"Run {Run.Key} has no evaluation at {images} images (it has {string.Join(", ", Stages.Select(s => s.Samples))}).");
}

/// <summary>One evaluation point of a run (saved as JSON in its run folder).</summary>
/// <param name="Samples">Final images the run had generated (the budget count).</param>
/// <param name="Updates">Optimizer updates made so far, counted by the trainer.</param>
/// <param name="NoiseEvaluations">Model (UNet) evaluations so far, counted by the trainer's sampler (a CFG pair counting once per sample).</param>
/// <param name="TrainSeconds">Training wall time so far (evaluation excluded).</param>
/// <param name="Scores">The evaluated rewards of the LoRA at this point.</param>
/// <param name="EvaluationSeconds">Wall time of this point's evaluation.</param>
/// <param name="ClipFraction">The mean over every update so far of the trust region's clip fraction (metrics.csv's clip_fraction; NaN when not logged).</param>
public sealed record StageResult(long Samples, long Updates, long NoiseEvaluations, double TrainSeconds, ImageSetScores Scores, double EvaluationSeconds,
    double ClipFraction);
