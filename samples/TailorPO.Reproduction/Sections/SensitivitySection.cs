using System.Globalization;
using System.Text;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 7 (the paper's T_finetune and eta_t ablations, Appendix E): TailorPO on colourfulness with T_finetune in the
/// sizing's choices, and TailorPO-G with constant guidance etas next to the paper's cosine schedule, at section 1's
/// chosen learning rates and the image budget. "Relatively stable" is decided by equivalence tests (TOST) of every
/// setting against the paper's, with a margin of half the paper setting's mean gain over the base model.
/// </summary>
public sealed class SensitivitySection : ReproductionSection<SensitivitySection.Measured, SensitivitySection.Analysis>
{
    /// <summary>The reward of the sensitivity runs.</summary>
    public const string Reward = "colorfulness";

    /// <summary>The equivalence margin as a fraction of the paper setting's mean gain over the base model.</summary>
    public const double MarginFraction = 0.5;

    /// <inheritdoc />
    public override string Title => "## 7. Sensitivity (T_finetune and eta_t)";

    /// <summary>One setting: its label and its runs at the image budget.</summary>
    public sealed record Setting(string Label, IReadOnlyList<StageResult> Stages);

    /// <summary>The T_finetune settings (the paper's first) and the eta settings (the cosine schedule first).</summary>
    public sealed record Measured(IReadOnlyList<Setting> ByTrainedSteps, IReadOnlyList<Setting> ByEta) : SectionMeasurements;

    /// <summary>The measurements, the margins and the claims.</summary>
    public sealed record Analysis(Measured Measured, double TrainedStepsMargin, double EtaMargin, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var s = context.Sizing;
        var ct = context.CancellationToken;
        var points = Budgets.EqualImagePoints(s);
        var tailor = await context.Runs.GetAsync("tailorpo", Reward, ct).ConfigureAwait(false);
        var byT = new List<Setting> { new(s.TrainedSteps.ToString(CultureInfo.InvariantCulture) + " (paper setting)", tailor.AtImages(s)) };
        foreach (var t in s.TrainedStepChoices.Where(t => t != s.TrainedSteps))
        {
            var runs = await context.Runner.SeedsAsync(tailor.Configuration with { TrainedSteps = t }, points, ct).ConfigureAwait(false);
            byT.Add(new Setting(t.ToString(CultureInfo.InvariantCulture), runs.Select(r => r.At(s.Budget)).ToList()));
        }
        var guided = await context.Runs.GetAsync("tailorpo-g", Reward, ct).ConfigureAwait(false);
        var byEta = new List<Setting> { new("cosine in [0.1, 0.2] (paper)", guided.AtImages(s)) };
        foreach (var eta in s.GuidanceEtas)
        {
            var runs = await context.Runner.SeedsAsync(guided.Configuration with { GuidanceEta = eta }, points, ct).ConfigureAwait(false);
            byEta.Add(new Setting(string.Create(CultureInfo.InvariantCulture, $"constant {eta}"), runs.Select(r => r.At(s.Budget)).ToList()));
        }
        return new Measured(byT, byEta);
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var baseMean = context.BaseScores.HeldOutMean(Reward);
        double Margin(Setting paper) => Math.Max(MarginFraction * Math.Abs(SeedStatistics.Of(MethodComparisonSection.HeldOut(paper.Stages, Reward)).Mean - baseMean), 1e-6);
        var (tMargin, etaMargin) = (Margin(measurements.ByTrainedSteps[0]), Margin(measurements.ByEta[0]));
        var claims = new List<Claim>();
        void Equivalent(string knob, IReadOnlyList<Setting> settings, double margin)
        {
            foreach (var other in settings.Skip(1))
                claims.Add(Claim.Equivalent($"{knob} {other.Label} ≈ {settings[0].Label}", MethodComparisonSection.HeldOut(other.Stages, Reward),
                    MethodComparisonSection.HeldOut(settings[0].Stages, Reward), margin));
        }
        Equivalent("T_finetune", measurements.ByTrainedSteps, tMargin);
        Equivalent("eta_t", measurements.ByEta, etaMargin);
        return new Analysis(measurements, tMargin, etaMargin, claims);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var s = context.Sizing;
        var c = CultureInfo.InvariantCulture;
        var baseMean = context.BaseScores.HeldOutMean(Reward);
        md.AppendLine(c, $"Trained on {Reward} at {s.Budget} images and section 1's chosen learning rates; the paper reports the method is relatively stable in both. " +
            $"T_finetune sets how many updates a trajectory makes, so at equal images the settings also differ in updates.");
        md.AppendLine();
        void Table(string knob, IReadOnlyList<Setting> settings)
        {
            md.AppendLine(c, $"| {knob} | held-out reward | change vs base | updates | NFE per image | training wall time (s) |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var setting in settings)
            {
                var values = MethodComparisonSection.HeldOut(setting.Stages, Reward);
                md.AppendLine(c, $"| {setting.Label} | {SeedStatistics.Of(values).Format()} | {SeedStatistics.Of(values.Select(v => v - baseMean)).Format()} | " +
                    $"{SeedStatistics.Of(setting.Stages.Select(st => (double)st.Updates)).Format("F0")} | " +
                    $"{SeedStatistics.Of(setting.Stages.Select(st => st.NoiseEvaluations / (double)Math.Max(1, st.Samples))).Format("F1")} | " +
                    $"{SeedStatistics.Of(setting.Stages.Select(st => st.TrainSeconds)).Format("F0")} |");
            }
            md.AppendLine();
        }
        Table("TailorPO, T_finetune", analysis.Measured.ByTrainedSteps);
        Table("TailorPO-G, eta_t", analysis.Measured.ByEta);
        var (path, link) = context.Image("sec7-sensitivity.png");
        var byT = analysis.Measured.ByTrainedSteps.OrderBy(x => int.Parse(x.Label.Split(' ')[0], c)).ToList();
        var stats = byT.Select(x => SeedStatistics.Of(MethodComparisonSection.HeldOut(x.Stages, Reward))).ToList();
        ResultPlots.Lines(path, $"Held-out {Reward} vs T_finetune (TailorPO)", "T_finetune", Reward,
            [new ResultPlots.Series("TailorPO", byT.Select(x => double.Parse(x.Label.Split(' ')[0], c)).ToArray(), stats.Select(x => x.Mean).ToArray(), stats.Select(x => x.Std).ToArray())]);
        md.AppendLine(c, $"![sensitivity to T_finetune]({link})");
        md.AppendLine();
        md.AppendLine(c, $"Claim (Appendix E): results are relatively stable in T_finetune and eta_t. Equivalence margins: ±{analysis.TrainedStepsMargin:G3} (T_finetune) and " +
            $"±{analysis.EtaMargin:G3} (eta_t), half the paper setting's mean gain over the base model.");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        ReproductionPage.EndSectionWithVerdicts(md, context, Title);
    }
}
