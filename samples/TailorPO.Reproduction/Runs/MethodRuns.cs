using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// A configuration trained at its chosen learning rate on every seed, with what each budget compares: the runs'
/// equal-images points, the image count of equal updates, and per seed the point used for equal NFE.
/// </summary>
/// <param name="Configuration">The configuration (seed of the first run; the others differ only by seed).</param>
/// <param name="Sweep">The learning-rate sweep: per rate, the reward on training prompts at the image budget over the sweep seeds.</param>
/// <param name="Runs">The runs, one per training seed, evaluated at every point below.</param>
/// <param name="EqualUpdatesImages">The image count of equal updates.</param>
/// <param name="TargetNfe">The NFE TailorPO spends at the image budget on this reward (the equal-NFE target).</param>
/// <param name="EqualNfe">Per run, the evaluation point used for equal NFE.</param>
public sealed record MethodRuns(ComparisonRun Configuration, IReadOnlyList<SweepPoint> Sweep, IReadOnlyList<RunResult> Runs, int EqualUpdatesImages,
    double TargetNfe, IReadOnlyList<StageResult> EqualNfe)
{
    /// <summary>The chosen learning rate.</summary>
    public double LearningRate => Configuration.LearningRate;

    /// <summary>The runs' stages at equal images (the image budget).</summary>
    public IReadOnlyList<StageResult> AtImages(ComparisonSizing sizing)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        return Runs.Select(r => r.At(sizing.Budget)).ToList();
    }

    /// <summary>The runs' stages at equal updates.</summary>
    public IReadOnlyList<StageResult> AtUpdates => Runs.Select(r => r.At(EqualUpdatesImages)).ToList();
}

/// <summary>One learning rate of a sweep.</summary>
/// <param name="LearningRate">The rate.</param>
/// <param name="TrainingReward">The trained reward on training prompts at the image budget, one value per sweep seed.</param>
public sealed record SweepPoint(double LearningRate, SeedStatistics TrainingReward)
{
    /// <summary>The rate with the highest mean training-prompt reward (the first of a tie; the only one of a sweep of one rate).</summary>
    /// <exception cref="ArgumentException">The sweep is empty.</exception>
    public static double Choose(IReadOnlyList<SweepPoint> sweep)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        if (sweep.Count == 0) throw new ArgumentException("A sweep needs at least one learning rate.", nameof(sweep));
        return sweep.Count == 1 ? sweep[0].LearningRate : sweep.MaxBy(p => p.TrainingReward.Mean)!.LearningRate;
    }
}
