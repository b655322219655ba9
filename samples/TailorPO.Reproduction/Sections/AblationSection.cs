using System.Globalization;
using System.Text;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 5 (the paper's Table 10): step-level ranking with pairs from different inputs (TailorPO's
/// <c>DifferentInputs</c> pairing), + pairs from the same x_t (TailorPO), + gradient guidance (TailorPO-G); trained on
/// colourfulness, each at its own chosen learning rate, compared at equal updates and equal NFE. The last two rows are
/// section 1's runs.
/// </summary>
public sealed class AblationSection : ReproductionSection<AblationSection.Measured, AblationSection.Analysis>
{
    /// <summary>The reward of the ablation (differentiable, so the guided row exists).</summary>
    public const string Reward = "colorfulness";

    private static readonly (string Label, string PaperValue)[] Rows =
    [
        ("step-level ranking (pairs from different x_T)", "6.40"),
        ("+ same x_t (TailorPO)", "6.69"),
        ("+ gradient guidance (TailorPO-G)", "6.78"),
    ];

    /// <inheritdoc />
    public override string Title => "## 5. Ablation (Table 10)";

    /// <summary>The three rows' runs.</summary>
    public sealed record Measured(IReadOnlyList<MethodRuns> Rows) : SectionMeasurements;

    /// <summary>The measurements and the claims.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var ct = context.CancellationToken;
        return new Measured(
        [
            await context.Runs.GetAsync("tailorpo", Reward, ct, pairing: "different-inputs").ConfigureAwait(false),
            await context.Runs.GetAsync("tailorpo", Reward, ct).ConfigureAwait(false),
            await context.Runs.GetAsync("tailorpo-g", Reward, ct).ConfigureAwait(false),
        ]);
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var (different, same) = (measurements.Rows[0], measurements.Rows[1]);
        return new Analysis(measurements,
        [
            Claim.Greater($"{Reward}: same x_t > different x_T (equal updates)", MethodComparisonSection.HeldOut(same.AtUpdates, Reward),
                MethodComparisonSection.HeldOut(different.AtUpdates, Reward)),
            Claim.Greater($"{Reward}: same x_t > different x_T (equal NFE)", MethodComparisonSection.HeldOut(same.EqualNfe, Reward),
                MethodComparisonSection.HeldOut(different.EqualNfe, Reward)),
        ]);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var c = CultureInfo.InvariantCulture;
        var s = context.Sizing;
        md.AppendLine($"Trained on {Reward} with section 1's settings and budgets, each row at the learning rate its own sweep chose. The first row ranks, at each trained " +
            "step, the samples of two trajectories from different x_T by their step rewards and takes the DPO loss on their two different inputs (D3PO's form " +
            "with TailorPO's ranking); both trajectories continue, so it generates two images per prompt and equal updates give it twice the images.");
        md.AppendLine();
        md.AppendLine("| configuration | lr | equal images | equal updates | images | updates | equal NFE | NFE | paper (aesthetic) |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var baseMean = context.BaseScores.HeldOutMean(Reward);
        for (var i = 0; i < Rows.Length; i++)
        {
            var row = analysis.Measured.Rows[i];
            string F(IEnumerable<double> v, string f = "G4") => SeedStatistics.Of(v).Format(f);
            md.AppendLine(c, $"| {Rows[i].Label} | {row.LearningRate:0.####} | {F(MethodComparisonSection.HeldOut(row.AtImages(s), Reward))} | " +
                $"{F(MethodComparisonSection.HeldOut(row.AtUpdates, Reward))} | {F(row.AtUpdates.Select(x => (double)x.Samples), "F0")} | {F(row.AtUpdates.Select(x => (double)x.Updates), "F0")} | " +
                $"{F(MethodComparisonSection.HeldOut(row.EqualNfe, Reward))} | {F(row.EqualNfe.Select(x => (double)x.NoiseEvaluations), "F0")} | {Rows[i].PaperValue} |");
        }
        md.AppendLine();
        var (path, link) = context.Image("sec5-ablation.png");
        var x = Enumerable.Range(0, Rows.Length).Select(i => (double)i).ToArray();
        var atUpdates = analysis.Measured.Rows.Select(r => SeedStatistics.Of(MethodComparisonSection.HeldOut(r.AtUpdates, Reward))).ToList();
        ResultPlots.Lines(path, $"Ablation on {Reward} at equal updates: 0 = step-level ranking, 1 = + same x_t, 2 = + guidance", "configuration", $"held-out {Reward}",
            [
                new ResultPlots.Series("held-out reward (mean ± std over seeds)", x, atUpdates.Select(r => r.Mean).ToArray(), atUpdates.Select(r => r.Std).ToArray()),
                new ResultPlots.Series("base model", x, x.Select(_ => baseMean).ToArray(), x.Select(_ => double.NaN).ToArray()),
            ]);
        md.AppendLine(c, $"![ablation]({link})");
        md.AppendLine();
        md.AppendLine("Claims (Table 10: each component adds reward; + guidance > same x_t is section 1's TailorPO-G > TailorPO on colourfulness):");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        ReproductionPage.EndSectionWithVerdicts(md, context, Title);
    }
}
