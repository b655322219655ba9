using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction.Tests;

/// <summary>
/// The full page's time estimate counts work in samples: a model call's cost grows with its batch, and the evaluation
/// scores the training prompts next to the held-out ones.
/// </summary>
public class PageTimeEstimateTests
{
    private static readonly ImageSetScores NoScores = new(new Dictionary<string, double[]>(), new Dictionary<string, double[]>());

    /// <summary>One measured quick run: <paramref name="nfe"/> sample-calls in <paramref name="trainSeconds"/>, one evaluation point.</summary>
    private static RunResult Measured(string method, long nfe, double trainSeconds, double evaluationSeconds)
    {
        var sizing = ComparisonSizing.Quick;
        var run = new ComparisonRun(method, "colorfulness", 0, sizing.TrainedSteps, 2e-3);
        return new RunResult(run, [new StageResult(sizing.Budget, 4, nfe, trainSeconds, NoScores, evaluationSeconds, 0)]);
    }

    private static PageTimeEstimate Estimate(IReadOnlyList<RunResult> runs, ComparisonSizing target) =>
        PageTimeEstimate.Estimate(ComparisonSizing.Quick, runs, new Dictionary<string, double> { ["analyses"] = 10 }, target, 1.0);

    private static readonly RunResult[] Runs =
    [
        Measured("tailorpo", nfe: 4 * (3 + 3 * 1), trainSeconds: 2.4, evaluationSeconds: 3),
        Measured("ddpo", nfe: 4 * (3 + 1 * 1), trainSeconds: 1.6, evaluationSeconds: 3),
    ];

    [Fact]
    public void Training_time_does_not_depend_on_how_the_samples_are_batched()
    {
        var atBatch2 = Estimate(Runs, ComparisonSizing.Full);
        var atBatch4 = Estimate(Runs, ComparisonSizing.Full with { Batch = 4 });
        Assert.Equal(atBatch2.TrainingMinutes, atBatch4.TrainingMinutes, 9);
        Assert.True(atBatch2.TrainingMinutes > 0);
    }

    [Fact]
    public void Training_time_scales_with_the_measured_seconds_per_sample_call()
    {
        var baseline = Estimate(Runs, ComparisonSizing.Full).TrainingMinutes;
        var slower = Runs.Select(r => r with { Stages = [r.Stages[0] with { TrainSeconds = 2 * r.Stages[0].TrainSeconds }] }).ToArray();
        Assert.Equal(2 * baseline, Estimate(slower, ComparisonSizing.Full).TrainingMinutes, 9);
    }

    [Fact]
    public void Evaluation_time_counts_every_held_out_and_training_prompt_seed_and_step()
    {
        // Full: (6 held-out + 3 training prompts) x 3 seeds x 10 steps per point; quick: (2 + 1) x 2 x 3.
        Assert.Equal(270, PageTimeEstimate.EvaluationWork(ComparisonSizing.Full));
        Assert.Equal(18, PageTimeEstimate.EvaluationWork(ComparisonSizing.Quick));
        var baseline = Estimate(Runs, ComparisonSizing.Full).EvaluationMinutes;
        var twicePrompts = Estimate(Runs, ComparisonSizing.Full with { EvaluationPrompts = 12 }).EvaluationMinutes;
        Assert.Equal(2 * baseline, twicePrompts, 9); // (12 + 6) / (6 + 3)
        // 3 s per quick point of 18 sample-steps: 45 s per full point of 270, so the estimate is a whole number of points.
        var points = baseline * 60 / (270 * 3.0 / 18);
        Assert.True(points >= ComparisonSizing.Full.Stages);
        Assert.Equal(Math.Round(points), points, 6);
    }
}
