using System.Globalization;
using System.Text;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 1 (the paper's Table 2 and Fig. 4): every method trained on JPEG compressibility and on colourfulness (a
/// differentiable reward, so TailorPO-G runs too) at its chosen learning rate, compared at equal images (a column),
/// equal updates and equal NFE (the claims), with reward-vs-images and reward-vs-NFE curves.
/// </summary>
public sealed class MethodComparisonSection : ReproductionSection<MethodComparisonSection.Measured, MethodComparisonSection.Analysis>
{
    /// <summary>The two training rewards.</summary>
    public static readonly IReadOnlyList<string> Rewards = ["jpeg-compressibility", "colorfulness"];

    /// <summary>The methods trained on <paramref name="reward"/> (TailorPO first: it sets the equal-NFE target; TailorPO-G only on a differentiable reward).</summary>
    public static IReadOnlyList<string> Methods(string reward) => reward == "colorfulness"
        ? ["tailorpo", "ddpo", "d3po", "diffusion-dpo", "tailorpo-g"]
        : ["tailorpo", "ddpo", "d3po", "diffusion-dpo"];

    /// <inheritdoc />
    public override string Title => "## 1. Method comparison (Table 2, Fig. 4)";

    /// <summary>Per reward, per method, its runs.</summary>
    public sealed record Measured(IReadOnlyDictionary<string, IReadOnlyList<MethodRuns>> ByReward) : SectionMeasurements;

    /// <summary>The measurements and the claims per reward.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyDictionary<string, IReadOnlyList<Claim>> ClaimsByReward)
        : SectionAnalysis(ClaimsByReward.Values.SelectMany(c => c).ToList());

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var byReward = new Dictionary<string, IReadOnlyList<MethodRuns>>();
        foreach (var reward in Rewards)
        {
            var rows = new List<MethodRuns>();
            foreach (var method in Methods(reward))
                rows.Add(await context.Runs.GetAsync(method, reward, context.CancellationToken).ConfigureAwait(false));
            byReward[reward] = rows;
        }
        return new Measured(byReward);
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var claims = new Dictionary<string, IReadOnlyList<Claim>>();
        foreach (var (reward, rows) in measurements.ByReward)
        {
            var byMethod = rows.ToDictionary(r => r.Configuration.Method);
            var baseMean = context.BaseScores.HeldOutMean(reward);
            var list = new List<Claim>();
            var tailor = byMethod["tailorpo"];
            // Against the base model the comparison is paired (the same evaluation images): the change over training seeds vs 0.
            list.Add(Claim.Above($"{reward}: TailorPO > base model", HeldOut(tailor.AtImages(context.Sizing), reward).Select(v => v - baseMean).ToList(), 0));
            void Pair(string a, string b)
            {
                list.Add(Claim.Greater($"{reward}: {Label(a)} > {Label(b)} (equal updates)", HeldOut(byMethod[a].AtUpdates, reward), HeldOut(byMethod[b].AtUpdates, reward)));
                list.Add(Claim.Greater($"{reward}: {Label(a)} > {Label(b)} (equal NFE)", HeldOut(byMethod[a].EqualNfe, reward), HeldOut(byMethod[b].EqualNfe, reward)));
            }
            foreach (var other in new[] { "d3po", "ddpo", "diffusion-dpo" }) Pair("tailorpo", other);
            if (byMethod.ContainsKey("tailorpo-g"))
            {
                Pair("tailorpo-g", "tailorpo");
                Pair("tailorpo-g", "d3po");
            }
            claims[reward] = list;
        }
        return new Analysis(measurements, claims);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var s = context.Sizing;
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"Each method is trained from the embedded base model with LoRA rank 4, batch {s.Batch}, {s.Steps} DDIM steps (eta 1, CFG {RunTraining.GuidanceScale}), " +
            $"T_finetune {s.TrainedSteps}, beta 0.1, at the learning rate its sweep chose (below). Rewards are evaluated on {context.Evaluator.HeldOutPrompts.Count} held-out " +
            $"prompts x {context.Evaluator.Seeds.Count} evaluation seeds; every cell is the mean ± the standard deviation over the {s.Seeds.Count} training seeds. " +
            $"Equal images: {s.Budget} images. Equal updates: {Budgets.TargetUpdates(s, s.TrainedSteps)} updates (TailorPO's at {s.Budget} images). Equal NFE: " +
            $"TailorPO's NFE at the image budget. Claims are decided at equal updates and at equal NFE (the page's statistics, above). *Clip fraction*: the mean over " +
            $"a run's updates of how often its trust region clipped - D3PO's ratio clamp (eps 0.1), DDPO's PPO clip (1e-4); TailorPO (no clamp by default) and " +
            $"Diffusion-DPO (none) report 0. D3PO trains the same T_finetune steps as TailorPO, not every step as yk7333/d3po does (docs/reproduction.md).");
        md.AppendLine();
        foreach (var (reward, rows) in analysis.Measured.ByReward)
        {
            var baseStats = SeedStatistics.Of(context.BaseScores.HeldOut[reward]);
            md.AppendLine(c, $"### Trained and evaluated on {reward}");
            md.AppendLine();
            md.AppendLine("| method | lr | equal images: held-out reward | equal updates: held-out reward | images | updates | NFE | wall (s) | clip fraction | " +
                "equal NFE: held-out reward | images | NFE | wall (s) |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            md.AppendLine(c, $"| base model | - | {baseStats.Format()} (std over evaluation seeds) | | | | | | | | | | |");
            foreach (var row in rows)
            {
                var images = row.AtImages(s);
                var updates = row.AtUpdates;
                md.AppendLine(c, $"| {Label(row.Configuration.Method)} | {row.LearningRate:0.####} | {Stat(HeldOut(images, reward))} | {Stat(HeldOut(updates, reward))} | " +
                    $"{Stat(updates.Select(x => (double)x.Samples), "F0")} | {Stat(updates.Select(x => (double)x.Updates), "F0")} | {Stat(updates.Select(x => (double)x.NoiseEvaluations), "F0")} | " +
                    $"{Stat(updates.Select(x => x.TrainSeconds), "F0")} | {Stat(updates.Select(x => x.ClipFraction), "F3")} | {Stat(HeldOut(row.EqualNfe, reward))} | {Stat(row.EqualNfe.Select(x => (double)x.Samples), "F0")} | " +
                    $"{Stat(row.EqualNfe.Select(x => (double)x.NoiseEvaluations), "F0")} | {Stat(row.EqualNfe.Select(x => x.TrainSeconds), "F0")} |");
            }
            md.AppendLine();
            md.AppendLine(c, $"Learning-rate sweep ({string.Join(", ", s.LearningRates.Select(l => l.ToString("0.####", c)))}; the same grid for every method): the trained reward " +
                $"on {context.Evaluator.TrainingPrompts.Count} training prompts at {s.Budget} images, {ReproductionPage.SweepSeeds(s)}; the highest mean is chosen.");
            md.AppendLine();
            ReproductionPage.AppendSweepTable(md, s.LearningRates, rows);

            var (imagesPath, imagesLink) = context.Image($"sec1-curve-{reward}.png");
            ResultPlots.Lines(imagesPath, $"Held-out {reward} vs images generated (mean ± std over seeds)", "images generated in training", reward,
                rows.Select(row => Curve(row, reward, baseStats.Mean, st => st.Samples)));
            var (nfePath, nfeLink) = context.Image($"sec1-nfe-{reward}.png");
            ResultPlots.Lines(nfePath, $"Held-out {reward} vs model evaluations (NFE) spent in training", "NFE (UNet evaluations)", reward,
                rows.Select(row => Curve(row, reward, baseStats.Mean, st => st.NoiseEvaluations)));
            md.AppendLine(c, $"![reward vs images, {reward}]({imagesLink}) ![reward vs NFE, {reward}]({nfeLink})");
            md.AppendLine();
            md.AppendLine("Claims (the paper's Table 2 ordering):");
            md.AppendLine();
            ReproductionPage.AppendClaims(md, analysis.ClaimsByReward[reward], verdicts);
        }
        ReproductionPage.EndSectionWithVerdicts(md, context, Title);
    }

    /// <summary>The page's name of a method.</summary>
    public static string Label(string method) => method switch
    {
        "tailorpo" => "TailorPO",
        "tailorpo-g" => "TailorPO-G",
        "d3po" => "D3PO",
        "ddpo" => "DDPO",
        "diffusion-dpo" => "Diffusion-DPO",
        _ => method,
    };

    /// <summary>The held-out mean of <paramref name="reward"/> at each stage (one value per training seed).</summary>
    public static IReadOnlyList<double> HeldOut(IEnumerable<StageResult> stages, string reward) => stages.Select(st => st.Scores.HeldOutMean(reward)).ToList();

    private static string Stat(IEnumerable<double> values, string format = "G4") => SeedStatistics.Of(values).Format(format);

    internal static ResultPlots.Series Curve(MethodRuns row, string reward, double baseMean, Func<StageResult, long> x)
    {
        // The points every seed was evaluated at, in order.
        var common = row.Runs.Select(r => r.Stages.Select(st => st.Samples).ToHashSet()).Aggregate((a, b) => { a.IntersectWith(b); return a; }).Order().ToList();
        var xs = new List<double> { 0 };
        var ys = new List<double> { baseMean };
        var es = new List<double> { double.NaN };
        foreach (var images in common)
        {
            var stages = row.Runs.Select(r => r.At(images)).ToList();
            var stats = SeedStatistics.Of(HeldOut(stages, reward));
            xs.Add(stages.Average(st => (double)x(st)));
            ys.Add(stats.Mean);
            es.Add(stats.Std);
        }
        return new ResultPlots.Series(Label(row.Configuration.Method), [.. xs], [.. ys], [.. es]);
    }
}
