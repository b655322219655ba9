using System.Globalization;
using TailorPO.Reproduction.Sections;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// An estimate of a sizing's CPU time from a finished run of another (the quick run predicts the full page). Rates are
/// measured on the run and turned from wall into CPU seconds by the process's CPU-to-wall ratio over the run (on a shared
/// machine wall time is several times the CPU time): seconds per sample and model call (one NFE) in training, seconds per
/// sample and denoising step in the evaluation (every held-out and training prompt x seed), and seconds per sample-step in
/// the analyses. Work is counted in samples, not in batched calls: at the full page's sizes a call's cost grows with its
/// batch (about 40 ms per sample-call at batch 2 on a Zen 5 core), and the evaluation scores the training prompts next to
/// the held-out ones. The quick run's small batches carry relatively more per-call overhead, so each part is, if anything,
/// an upper bound. The NFE per image of each method is modelled as steps + a x T_finetune, with a measured on the run
/// (DDPO re-scores one sample per trained step, D3PO two, TailorPO scores two candidates and re-scores the pair, ...).
/// </summary>
public sealed record PageTimeEstimate(double TrainingMinutes, double EvaluationMinutes, double AnalysisMinutes, int Runs, long Images)
{
    /// <summary>The total.</summary>
    public double TotalMinutes => TrainingMinutes + EvaluationMinutes + AnalysisMinutes;

    /// <summary>One line for the console and the docs.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{TotalMinutes:F0} min ({TotalMinutes / 60:F1} h): training {TrainingMinutes:F0} min ({Runs} runs, {Images} images), evaluation {EvaluationMinutes:F0} min, analyses {AnalysisMinutes:F0} min");

    /// <summary>Estimates <paramref name="target"/> from the runs and analyses measured under <paramref name="measured"/>.</summary>
    /// <param name="measured">The sizing that ran.</param>
    /// <param name="runs">Its runs.</param>
    /// <param name="analysisSeconds">Its analyses' wall seconds.</param>
    /// <param name="target">The sizing to estimate.</param>
    /// <param name="cpuPerWall">The process's CPU seconds per wall second over the run (1 on an idle machine at one thread).</param>
    public static PageTimeEstimate Estimate(ComparisonSizing measured, IReadOnlyList<RunResult> runs, IReadOnlyDictionary<string, double> analysisSeconds,
        ComparisonSizing target, double cpuPerWall)
    {
        ArgumentNullException.ThrowIfNull(measured);
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(analysisSeconds);
        ArgumentNullException.ThrowIfNull(target);
        var trained = runs.Where(r => r.Stages.Count > 0).ToList();
        if (trained.Count == 0) throw new InvalidOperationException("No run was measured; nothing to estimate from.");
        if (!(cpuPerWall > 0)) throw new ArgumentOutOfRangeException(nameof(cpuPerWall), cpuPerWall, "The CPU-to-wall ratio is positive.");
        var secondsPerNfe = cpuPerWall * trained.Sum(r => r.Stages[^1].TrainSeconds) / trained.Sum(r => (double)r.Stages[^1].NoiseEvaluations);
        double Coefficient(string kind)
        {
            var own = trained.Where(r => Kind(r.Run) == kind).Select(r => r.Stages[^1]).ToList();
            if (own.Count == 0) return 3;
            return own.Average(st => (st.NoiseEvaluations / (double)st.Samples - measured.Steps) / Math.Max(1, trained.First(r => Kind(r.Run) == kind).Run.TrainedSteps));
        }
        double PerImage(string kind, int t) => target.Steps + Coefficient(kind) * t;

        // The planned runs: (kind, T, images from, images to). Per configuration its sweep's grid size: section 1's rewards
        // and the ablation sweep the sizing's grid, the headline's preference reward its own, the ensemble (section 6) none.
        var plan = new List<(string Kind, int T, int From, int To)>();
        var configurations = MethodComparisonSection.Rewards.SelectMany(r => MethodComparisonSection.Methods(r).Select(m => (Kind: m, Rates: target.LearningRates.Count)))
            .Append(("tailorpo", 1)).Append(("tailorpo/different-inputs", target.LearningRates.Count))
            .Concat(PreferenceHeadlineSection.Methods.Select(m => (Kind: m, Rates: target.PreferenceLearningRates.Count))).ToList();
        var reference = PerImage("tailorpo", target.TrainedSteps);
        foreach (var (kind, rates) in configurations)
        {
            var factor = kind is "d3po" or "diffusion-dpo" or "tailorpo/different-inputs" ? 2 : 1;
            var nfeImages = (int)(target.Budget * reference / PerImage(kind, target.TrainedSteps));
            var longest = Math.Max(target.Budget * factor, nfeImages);
            for (var i = 0; i < rates * target.SweepSeeds; i++) plan.Add((kind, target.TrainedSteps, 0, target.Budget));
            for (var i = 0; i < target.SweepSeeds; i++) plan.Add((kind, target.TrainedSteps, target.Budget, longest));
            for (var i = target.SweepSeeds; i < target.Seeds.Count; i++) plan.Add((kind, target.TrainedSteps, 0, longest));
        }
        foreach (var t in target.TrainedStepChoices.Where(t => t != target.TrainedSteps))
            plan.AddRange(target.Seeds.Select(_ => ("tailorpo", t, 0, target.Budget)));
        foreach (var _ in target.GuidanceEtas) plan.AddRange(target.Seeds.Select(_ => ("tailorpo-g", target.TrainedSteps, 0, target.Budget)));
        var trainingSeconds = plan.Sum(p => (p.To - p.From) * PerImage(p.Kind, p.T) * secondsPerNfe);

        // Evaluation: seconds per sample-step of the evaluation set (every held-out and training prompt, seed and step).
        var measuredEvaluations = trained.Sum(r => r.Stages.Count);
        var secondsPerEvaluationUnit = cpuPerWall * trained.Sum(r => r.Stages.Sum(st => st.EvaluationSeconds)) / (measuredEvaluations * EvaluationWork(measured));
        var plannedEvaluations = plan.Count(p => p.From == 0) * target.Stages + plan.Count(p => p.To > target.Budget) * 2 + 1;
        var evaluationSeconds = plannedEvaluations * EvaluationWork(target) * secondsPerEvaluationUnit;

        var analysisRate = cpuPerWall * analysisSeconds.Values.Sum() / AnalysisWork(measured);
        return new PageTimeEstimate(trainingSeconds / 60, evaluationSeconds / 60, AnalysisWork(target) * analysisRate / 60,
            plan.Count(p => p.From == 0), plan.Sum(p => (long)(p.To - p.From)));
    }

    /// <summary>Sample-steps of one evaluation point: the held-out prompts and half as many training prompts (<c>HeldOutEvaluator</c>), x seeds x steps.</summary>
    internal static double EvaluationWork(ComparisonSizing s) =>
        (s.EvaluationPrompts + Math.Max(1, s.EvaluationPrompts / 2)) * (double)s.EvaluationSeeds * s.Steps;

    private static string Kind(ComparisonRun run) => run.Pairing == "same-input" ? run.Method : $"{run.Method}/{run.Pairing}";

    /// <summary>Sample-steps (one sample through one UNet evaluation) of sections 2-4 under a sizing.</summary>
    private static double AnalysisWork(ComparisonSizing s)
    {
        double Triangle(int n) => n * (n + 1) / 2.0;
        var disagreement = 2.0 * s.DisagreementPairs * (s.Steps + Triangle(s.Steps));
        var guidance = s.GuidanceSamples * (s.Steps + 8.0 * s.TrainedSteps);
        var paperSteps = StepRewardErrorSection.PaperTimesteps.Select(t => StepRewardErrorSection.StepIndex(t, s.EstimateSteps));
        var estimate = 3.0 * s.EstimatePrompts * (2 * s.EstimateSteps + paperSteps.Sum(i => (double)s.Continuations * (s.EstimateSteps - i))
            + s.AllStepsContinuations * Triangle(s.EstimateSteps));
        // The headline's grades: the base model once, every method's runs at up to three points (equal images, updates, NFE).
        var grade = PreferenceHeadlineSection.GradeOptions(s);
        var grades = 1 + PreferenceHeadlineSection.Methods.Count * s.Seeds.Count * 3;
        var grading = grades * (double)grade.Captions * grade.SeedsPerCaption * grade.Steps;
        return s.AnalysisSeeds * (disagreement + guidance + estimate) + grading;
    }
}
