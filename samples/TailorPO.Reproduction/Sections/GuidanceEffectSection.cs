using System.Globalization;
using System.Text;
using TailorPO.Core.Options;
using TailorPO.Core.Threading;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;
using TailorPO.Rewards.StepRewards;
using static TorchSharp.torch;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 3 (the paper's Table 1): at each trained step, the base model draws two candidates from x_t, the preferred
/// one (higher step reward) gets TailorPO-G's guidance step x^+ and the sign-flipped x^- (<see cref="RewardGradientRefiner"/>
/// with delta 0.5); the table gives the fraction whose step reward rises under x^+ and falls under x^-, for the paper's
/// Table 1 setting (constant eta 0.2) and for the cosine schedule in [0.1, 0.2] that training uses.
/// </summary>
public sealed class GuidanceEffectSection : ReproductionSection<GuidanceEffectSection.Measured, GuidanceEffectSection.Analysis>
{
    /// <summary>The differentiable reward guided.</summary>
    public const string Reward = "colorfulness";

    /// <summary>The paper's lowest fraction (Table 1: 83-100%).</summary>
    public const double PaperLowest = 0.83;

    private static readonly (string Name, Func<IGuidanceSchedule> Schedule)[] Settings =
    [
        ("constant eta 0.2", () => new ConstantGuidanceSchedule(0.2)),
        ("cosine eta in [0.1, 0.2]", () => new CosineGuidanceSchedule()),
    ];

    /// <inheritdoc />
    public override string Title => "## 3. Guidance effect (Table 1)";

    /// <summary>The trained step indices and [analysis seed][setting][trained step] = [rise, fall].</summary>
    public sealed record Measured(IReadOnlyList<int> TrainedSteps, IReadOnlyList<double[][][]> BySeed) : SectionMeasurements;

    /// <summary>The measurements and per setting the claims on rises and falls.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override Task<Measured> Measure(ReproductionContext context)
    {
        var trained = new FinetuneOptions { TrainedSteps = context.Sizing.TrainedSteps }.SelectStepIndices(context.Sizing.Steps);
        var bySeed = context.AnalysisSeeds.Select(seed => context.Runner.Cached($"sec3-seed{seed}", () => Measure(context, seed, trained), context.CancellationToken)).ToList();
        return Task.FromResult(new Measured(trained, bySeed));
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var claims = new List<Claim>();
        var samples = context.Sizing.GuidanceSamples;
        for (var k = 0; k < Settings.Length; k++)
        {
            // Every (analysis seed, trained step, sample) is one event: each trained step draws new candidates at a new x_t, and
            // the samples of a step are independent prompts and noise. Counting events, not seed means, lets the test see that
            // every one of them succeeded (a t-test over seed means of 100% has no variance and no answer).
            var events = measurements.BySeed.Sum(m => m[k].Length) * samples;
            int Count(int which) => measurements.BySeed.Sum(m => m[k].Sum(v => (int)Math.Round(v[which] * samples)));
            claims.Add(Claim.ProportionAbove(string.Create(CultureInfo.InvariantCulture, $"{Settings[k].Name}: x^+ raises the step reward for more than {PaperLowest:P0} of samples"), Count(0), events, PaperLowest));
            claims.Add(Claim.ProportionAbove(string.Create(CultureInfo.InvariantCulture, $"{Settings[k].Name}: x^- lowers the step reward for more than {PaperLowest:P0} of samples"), Count(1), events, PaperLowest));
        }
        return new Analysis(measurements, claims);
    }

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var trained = analysis.Measured.TrainedSteps;
        var measured = analysis.Measured.BySeed;
        var c = CultureInfo.InvariantCulture;
        md.AppendLine($"Base model, reward {Reward}, {context.Sizing.GuidanceSamples} prompts per analysis seed, delta 0.5. At each trained step index the " +
            "preferred of two candidates x^w is moved to x^+ = x^w - eta_t grad (r_high - r_t(c, x^w))^2 and to the sign-flipped x^-; *rises* = fraction with " +
            "r_t(x^+) > r_t(x^w), *falls* = fraction with r_t(x^-) < r_t(x^w). Mean ± std over the analysis seeds.");
        md.AppendLine();
        md.Append("| trained step index |");
        foreach (var (name, _) in Settings) md.Append(c, $" rises, {name} | falls, {name} |");
        md.AppendLine();
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- | --- |", Settings.Length)));
        for (var i = 0; i < trained.Count; i++)
        {
            md.Append(c, $"| {trained[i]} |");
            for (var k = 0; k < Settings.Length; k++)
                md.Append(c, $" {SeedStatistics.Of(measured.Select(m => m[k][i][0])).Format("F2")} | {SeedStatistics.Of(measured.Select(m => m[k][i][1])).Format("F2")} |");
            md.AppendLine();
        }
        md.AppendLine();
        var (path, link) = context.Image("sec3-guidance.png");
        var x = trained.Select(t => (double)t).ToArray();
        ResultPlots.Series Line(string label, int k, int column) => new(label, x,
            Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i][column])).Mean).ToArray(),
            Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i][column])).Std).ToArray());
        ResultPlots.Lines(path, $"Guidance moves the step reward ({Reward}, base model)", "trained step index", "fraction of samples",
            Settings.SelectMany((setting, k) => new[] { Line($"rises under x+, {setting.Name}", k, 0), Line($"falls under x-, {setting.Name}", k, 1) }));
        md.AppendLine(c, $"![guidance effect]({link})");
        md.AppendLine();
        md.AppendLine(c, $"Claim (Table 1): the guidance raises (x^+) or lowers (x^-) the step reward for almost all samples (83-100% in the paper); tested per " +
            $"setting by an exact binomial test over every (analysis seed, trained step, sample) event: {context.AnalysisSeeds.Count} x {trained.Count} x " +
            $"{context.Sizing.GuidanceSamples} events, each step drawing new candidates at a new x_t.");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        md.AppendLine(context.Provenance(Title, $"analysis seeds {string.Join(", ", context.AnalysisSeeds)}"));
        md.AppendLine();
    }

    /// <summary>[setting][trained step] = [rise fraction, fall fraction].</summary>
    private static double[][][] Measure(ReproductionContext context, long seed, IReadOnlyList<int> trained)
    {
        var pipeline = context.Evaluator.Pipeline;
        var sampler = context.Evaluator.CreateSampler();
        var reward = context.Evaluator.Panel.Models[Reward];
        var estimator = new StepRewardEstimator(pipeline.Decoder, reward);
        var probe = new TrajectoryProbe(sampler, pipeline.Decoder, [reward]);
        var prompts = PreferenceDisagreementSection.Prompts(context.Sizing.GuidanceSamples, seed + 100);
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(600_000 + seed));
        var condition = new PipelinePromptEncoder(pipeline).Encode(prompts, RunTraining.GuidanceScale);
        var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
        var initial = randn([prompts.Count, pipeline.Unet.Config.InChannels, size, size], generator: generator);
        using var trajectory = probe.Run(initial, 0, condition, generator, keepInputs: true);
        var result = Settings.Select(_ => new List<double[]>()).ToArray();
        foreach (var s in trained)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var gate = FinalizerGate.Close();
            using var stepScope = NewDisposeScope();
            Tensor preferred;
            using (no_grad())
            {
                var candidates = sampler.Step(trajectory.Inputs[s], s, condition, 2, generator).Candidates; // [2, B, ...]
                var rewards = estimator.ScoreCandidates(sampler, candidates, s, condition).Rewards;      // [2, B]
                var second = rewards[1].gt(rewards[0]).reshape([-1, 1, 1, 1]);
                preferred = where(second, candidates[1], candidates[0]);
            }
            for (var k = 0; k < Settings.Length; k++)
            {
                var refiner = new RewardGradientRefiner(estimator, Settings[k].Schedule(), RewardGradientRefiner.PaperDelta,
                    requireImprovement: true, computeOpposite: true);
                var report = refiner.Refine(sampler, preferred, s, condition).Report!;
                var rise = report.ProposalReward.gt(report.PreferredReward).to_type(ScalarType.Float64).mean().item<double>();
                var fall = report.OppositeReward!.lt(report.PreferredReward).to_type(ScalarType.Float64).mean().item<double>();
                result[k].Add([rise, fall]);
            }
        }
        return result.Select(r => r.ToArray()).ToArray();
    }
}
