using System.Globalization;
using System.Text;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;
using TailorPO.Shapes.Evaluation;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// The page's headline (the analogue of the paper's PickScore/HPS tables): every method trained on the embedded
/// preference model - a learned, differentiable, imperfect proxy loaded as PickScore would be - and graded by the exact
/// per-attribute accuracy of <see cref="SceneMeasurer"/>, which no reward sees. Budgets and statistics are section 1's;
/// each method trains at the learning rate its own sweep chose on the preference reward's grid
/// (<see cref="ComparisonSizing.PreferenceLearningRates"/>, <see cref="MethodRunsProvider"/>).
/// </summary>
public sealed class PreferenceHeadlineSection : ReproductionSection<PreferenceHeadlineSection.Measured, PreferenceHeadlineSection.Analysis>
{
    /// <summary>The training reward: the embedded preference model.</summary>
    public const string Reward = "preference";

    /// <summary>The gold attribute the claims are decided on (GenEval's overall score).</summary>
    public const string GoldAttribute = "all four";

    /// <summary>Every method, TailorPO first (it sets the equal-NFE target).</summary>
    public static readonly IReadOnlyList<string> Methods = ["tailorpo", "ddpo", "d3po", "diffusion-dpo", "tailorpo-g"];

    /// <inheritdoc />
    public override string Title => "## 0. Headline: aligning to the learned preference model, graded exactly (the PickScore/HPS tables)";

    /// <summary>The grade's size per sizing (kept out of <see cref="ComparisonSizing"/>, so work folders started before this section stay valid).</summary>
    public static AttributeGradeOptions GradeOptions(ComparisonSizing sizing)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        var full = sizing.Name == ComparisonSizing.Full.Name;
        return new AttributeGradeOptions
        {
            Captions = full ? 24 : 2, SeedsPerCaption = full ? 4 : 2, Steps = sizing.Steps, GuidanceScale = RunTraining.GuidanceScale, Eta = 1.0,
        };
    }

    /// <summary>The runs, the base model's preference scores and grade, and every graded (run, point).</summary>
    public sealed record Measured(IReadOnlyList<MethodRuns> Rows, ImageSetScores BaseScores, GoldGrade BaseGrade,
        IReadOnlyDictionary<string, GoldGrade> Grades) : SectionMeasurements
    {
        /// <summary>The grade of a run at one of its points.</summary>
        public GoldGrade GradeOf(StageResult stage, ComparisonRun run) => Grades[GradeKey(run, stage.Samples)];
    }

    /// <summary>The measurements and the claims.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var ct = context.CancellationToken;
        var rows = new List<MethodRuns>();
        foreach (var method in Methods) rows.Add(await context.Runs.GetAsync(method, Reward, ct).ConfigureAwait(false));
        var baseScores = context.Runner.Cached("preference-base-scores", () => context.Evaluator.Evaluate(loraFile: null, ct, Reward), ct);
        var baseGrade = context.Runner.Cached("preference-grade-base", () => Grade(context, loraFile: null), ct);
        var grades = new Dictionary<string, GoldGrade>();
        foreach (var row in rows)
            foreach (var (run, stage) in GradedPoints(row, context.Sizing))
            {
                var key = GradeKey(run.Run, stage.Samples);
                if (grades.ContainsKey(key)) continue;
                var lora = Path.Combine(context.Runner.Folder(run.Run), RunTraining.StageLoraFile(stage.Samples));
                grades[key] = context.Runner.Cached(key, () => Grade(context, lora), ct);
            }
        return new Measured(rows, baseScores, baseGrade, grades);
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var byMethod = measurements.Rows.ToDictionary(r => r.Configuration.Method);
        var tailor = byMethod["tailorpo"];
        var basePreference = measurements.BaseScores.HeldOutMean(Reward);
        var baseGold = measurements.BaseGrade.Of(GoldAttribute);
        var images = tailor.AtImages(context.Sizing);
        var claims = new List<Claim>
        {
            // Paired against the base model (the same evaluation images): the change over training seeds vs 0.
            Claim.Above($"{Reward}: TailorPO > base model (held-out preference score)", MethodComparisonSection.HeldOut(images, Reward).Select(v => v - basePreference).ToList(), 0),
            Claim.Above($"{Reward}: TailorPO > base model (gold: {GoldAttribute} right)", Gold(measurements, tailor, images).Select(v => v - baseGold).ToList(), 0),
        };
        void Pair(string a, string b)
        {
            var (x, y) = (byMethod[a], byMethod[b]);
            claims.Add(Claim.Greater($"{Reward}: {MethodComparisonSection.Label(a)} > {MethodComparisonSection.Label(b)} (equal updates)",
                MethodComparisonSection.HeldOut(x.AtUpdates, Reward), MethodComparisonSection.HeldOut(y.AtUpdates, Reward)));
            claims.Add(Claim.Greater($"{Reward}: {MethodComparisonSection.Label(a)} > {MethodComparisonSection.Label(b)} (equal NFE)",
                MethodComparisonSection.HeldOut(x.EqualNfe, Reward), MethodComparisonSection.HeldOut(y.EqualNfe, Reward)));
            claims.Add(Claim.Greater($"{Reward}: {MethodComparisonSection.Label(a)} > {MethodComparisonSection.Label(b)} (gold: {GoldAttribute} right, equal updates)",
                Gold(measurements, x, x.AtUpdates), Gold(measurements, y, y.AtUpdates)));
        }
        foreach (var other in new[] { "d3po", "ddpo", "diffusion-dpo" }) Pair("tailorpo", other);
        Pair("tailorpo-g", "tailorpo");
        return new Analysis(measurements, claims);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var c = CultureInfo.InvariantCulture;
        var s = context.Sizing;
        var m = analysis.Measured;
        var grade = GradeOptions(s);
        md.AppendLine(c, $"The paper's headline tables align SD v1.5 to learned preference models (PickScore, HPSv2, aesthetic). Here every method aligns the embedded " +
            $"model to the **embedded preference model**, a tiny CLIP of the shapes world loaded exactly as PickScore would be (docs/embedded-model.md) - learned, " +
            $"differentiable and imperfect - with section 1's settings and budgets. Each method trains at the learning rate its own sweep chose on the " +
            $"preference score of training prompts, over a grid of its own ({string.Join(", ", s.PreferenceLearningRates.Select(l => l.ToString(ReproductionPage.LearningRateFormat, c)))}, the same for every method; " +
            $"lower than section 1's, at whose rates TailorPO lowers the preference score). Two measures are reported: the preference score on " +
            $"the {context.Evaluator.HeldOutPrompts.Count} held-out prompts x {context.Evaluator.Seeds.Count} evaluation seeds (the trained proxy), and the **gold** grade: " +
            $"{grade.Captions} held-out captions x {grade.SeedsPerCaption} seeds (from {grade.FirstSeed}; {grade.Steps} DDIM steps, CFG {grade.GuidanceScale}) drawn by the " +
            $"LoRA at the point named, each image's shape, shape colour, background colour and pattern measured by `SceneMeasurer`, which no reward sees (GenEval's " +
            $"per-attribute and overall accuracy). Every cell is the mean ± the standard deviation over the {s.Seeds.Count} training seeds.");
        md.AppendLine();
        md.AppendLine("| method | lr | preference, equal images | preference, equal updates | preference, equal NFE | " +
            string.Join(" | ", GradedAttribute.All.Select(a => $"{a.Name} (equal updates)")) + " | diversity vs base | images | updates | NFE |");
        md.AppendLine("| --- | --- | --- | --- | --- |" + string.Concat(Enumerable.Repeat(" --- |", GradedAttribute.All.Count + 4)));
        md.AppendLine(c, $"| base model | - | {SeedStatistics.Of(m.BaseScores.HeldOut[Reward]).Format()} (std over evaluation seeds) | | | " +
            $"{string.Join(" | ", m.BaseGrade.Accuracy.Select(a => Percent(a)))} | 100% | | | |");
        foreach (var row in m.Rows)
        {
            var updates = row.AtUpdates;
            var grades = updates.Select((st, i) => m.GradeOf(st, row.Runs[i].Run)).ToList();
            md.AppendLine(c, $"| {MethodComparisonSection.Label(row.Configuration.Method)} | {row.LearningRate:0.######} | " +
                $"{Stat(MethodComparisonSection.HeldOut(row.AtImages(s), Reward))} | {Stat(MethodComparisonSection.HeldOut(updates, Reward))} | " +
                $"{Stat(MethodComparisonSection.HeldOut(row.EqualNfe, Reward))} | " +
                $"{string.Join(" | ", GradedAttribute.All.Select((_, a) => PercentStat(grades.Select(g => g.Accuracy[a]))))} | " +
                $"{PercentStat(grades.Select(g => g.Diversity / m.BaseGrade.Diversity), "F0")} | {Stat(updates.Select(x => (double)x.Samples), "F0")} | " +
                $"{Stat(updates.Select(x => (double)x.Updates), "F0")} | {Stat(updates.Select(x => (double)x.NoiseEvaluations), "F0")} |");
        }
        md.AppendLine();
        md.AppendLine(c, $"Learning-rate sweep: the preference score on {context.Evaluator.TrainingPrompts.Count} training prompts at {s.Budget} images, " +
            $"{ReproductionPage.SweepSeeds(s)}; the highest mean is chosen.");
        md.AppendLine();
        ReproductionPage.AppendSweepTable(md, s.PreferenceLearningRates, m.Rows);

        var (accuracyPath, accuracyLink) = context.Image("sec0-gold-accuracy.png");
        var attributes = GradedAttribute.All.Select(a => a.Name).ToList();
        var series = new List<ResultPlots.BarSeries>
        {
            new("base model", m.BaseGrade.Accuracy.Select(a => 100 * a).ToArray(), attributes.Select(_ => double.NaN).ToArray()),
        };
        foreach (var row in m.Rows)
        {
            var grades = row.AtUpdates.Select((st, i) => m.GradeOf(st, row.Runs[i].Run)).ToList();
            var stats = attributes.Select((_, a) => SeedStatistics.Of(grades.Select(g => 100 * g.Accuracy[a]))).ToList();
            series.Add(new(MethodComparisonSection.Label(row.Configuration.Method), stats.Select(t => t.Mean).ToArray(), stats.Select(t => t.Std).ToArray()));
        }
        ResultPlots.GroupedBars(accuracyPath, "Gold accuracy per attribute at equal updates", "images right (%), mean ± std over seeds", attributes, series);
        var (curvePath, curveLink) = context.Image("sec0-curve-preference.png");
        ResultPlots.Lines(curvePath, "Held-out preference score vs images generated (mean ± std over seeds)", "images generated in training", Reward,
            m.Rows.Select(row => MethodComparisonSection.Curve(row, Reward, m.BaseScores.HeldOutMean(Reward), st => st.Samples)));
        md.AppendLine(c, $"![gold accuracy per attribute]({accuracyLink}) ![preference vs images]({curveLink})");
        md.AppendLine();
        md.AppendLine("Claims (the paper's headline: TailorPO raises the learned reward above the base and the baselines, and guidance adds to it; here also on the gold measure):");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        ReproductionPage.EndSectionWithVerdicts(md, context, Title, learnedReward: true);
    }

    /// <summary>The cache name of a run's grade at <paramref name="images"/> images.</summary>
    public static string GradeKey(ComparisonRun run, long images)
    {
        ArgumentNullException.ThrowIfNull(run);
        return string.Create(CultureInfo.InvariantCulture, $"preference-grade-{run.Key}-at{images}");
    }

    // The points a claim or the table reads: equal images, equal updates and equal NFE of every seed.
    private static IEnumerable<(RunResult Run, StageResult Stage)> GradedPoints(MethodRuns row, ComparisonSizing sizing)
    {
        for (var i = 0; i < row.Runs.Count; i++)
        {
            yield return (row.Runs[i], row.AtImages(sizing)[i]);
            yield return (row.Runs[i], row.AtUpdates[i]);
            yield return (row.Runs[i], row.EqualNfe[i]);
        }
    }

    private static IReadOnlyList<double> Gold(Measured measured, MethodRuns row, IReadOnlyList<StageResult> stages) =>
        stages.Select((st, i) => measured.GradeOf(st, row.Runs[i].Run).Of(GoldAttribute)).ToList();

    private static GoldGrade Grade(ReproductionContext context, string? loraFile) => context.Evaluator.WithLora(loraFile, _ =>
        GoldGrade.From(AttributeGrader.Grade(context.Evaluator.Pipeline, adapter: null, GradeOptions(context.Sizing),
            [new GradeMonitor("preference model score", context.Evaluator.Panel.Learned(Reward))], cancellationToken: context.CancellationToken)));

    private static string Stat(IEnumerable<double> values, string format = "G4") => SeedStatistics.Of(values).Format(format);

    private static string Percent(double share) => (100 * share).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string PercentStat(IEnumerable<double> shares, string format = "F1") => SeedStatistics.Of(shares.Select(v => 100 * v)).Format(format) + "%";
}
