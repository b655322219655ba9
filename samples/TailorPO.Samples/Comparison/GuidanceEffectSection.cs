using System.Diagnostics;
using System.Globalization;
using System.Text;
using TailorPO.Core.Options;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.StepRewards;
using static TorchSharp.torch;

namespace TailorPO.Samples.Comparison;

/// <summary>
/// Section 3 (the paper's Table 1): at each trained step, the base model draws two candidates from x_t, the preferred
/// one (higher step reward) gets TailorPO-G's guidance step x^+ and the sign-flipped x^- (<see cref="RewardGradientRefiner"/>
/// with delta 0.5); the table gives the fraction whose step reward rises under x^+ and falls under x^-, for the paper's
/// Table 1 setting (constant eta 0.2) and for the cosine schedule in [0.1, 0.2] that training uses.
/// </summary>
public static class GuidanceEffectSection
{
    /// <summary>The differentiable reward guided.</summary>
    public const string Reward = "colorfulness";

    private static readonly (string Name, Func<IGuidanceSchedule> Schedule)[] Settings =
    [
        ("constant eta 0.2", () => new ConstantGuidanceSchedule(0.2)),
        ("cosine eta in [0.1, 0.2]", () => new CosineGuidanceSchedule()),
    ];

    /// <summary>Measures and writes the section.</summary>
    public static string Write(ComparisonContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var trained = new FinetuneOptions { TrainedSteps = context.Sizing.TrainedSteps }.SelectStepIndices(context.Sizing.Steps);
        // [seed][setting][trained step] -> (rise, fall)
        var measured = context.Sizing.Seeds
            .Select(seed => context.Runner.Cached($"sec3-seed{seed}", () => Measure(context, seed, trained)))
            .Select(m => m.Select(setting => setting.Select(v => (Rise: v[0], Fall: v[1])).ToList()).ToArray())
            .ToList();
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("## 3. Guidance effect (Table 1)");
        md.AppendLine();
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
                md.Append(c, $" {SeedStatistics.Of(measured.Select(m => m[k][i].Rise)).Format("F2")} | {SeedStatistics.Of(measured.Select(m => m[k][i].Fall)).Format("F2")} |");
            md.AppendLine();
        }
        md.AppendLine();
        var (path, link) = context.Image("sec3-guidance.png");
        var x = trained.Select(t => (double)t).ToArray();
        ResultPlots.Lines(path, $"Guidance moves the step reward ({Reward}, base model)", "trained step index", "fraction of samples",
            Settings.SelectMany((setting, k) => new[]
            {
                new ResultPlots.Series($"rises under x+, {setting.Name}", x,
                    Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i].Rise)).Mean).ToArray(),
                    Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i].Rise)).Std).ToArray()),
                new ResultPlots.Series($"falls under x-, {setting.Name}", x,
                    Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i].Fall)).Mean).ToArray(),
                    Enumerable.Range(0, trained.Count).Select(i => SeedStatistics.Of(measured.Select(m => m[k][i].Fall)).Std).ToArray()),
            }));
        md.AppendLine(c, $"![guidance effect]({link})");
        md.AppendLine();
        md.AppendLine("Claim (Table 1): the guidance raises (x^+) or lowers (x^-) the step reward for almost all samples (83-100% in the paper).");
        md.AppendLine();
        for (var k = 0; k < Settings.Length; k++)
        {
            var rise = SeedStatistics.Of(measured.Select(m => m[k].Average(v => v.Rise)));
            var fall = SeedStatistics.Of(measured.Select(m => m[k].Average(v => v.Fall)));
            md.AppendLine(c, $"- {Settings[k].Name}: rises {rise.Format("F2")}, falls {fall.Format("F2")} (means over trained steps): at least 83% of samples: " +
                $"{Threshold(rise, fall, 0.83)}.");
        }
        md.AppendLine();
        md.AppendLine(context.Provenance(clock, $"analysis seeds {string.Join(", ", context.Sizing.Seeds)}"));
        md.AppendLine();
        return md.ToString();
    }

    /// <summary>Both fractions against the paper's lowest figure, with two standard errors of slack.</summary>
    private static string Threshold(SeedStatistics rise, SeedStatistics fall, double threshold)
    {
        var low = Math.Min(rise.Mean - 2 * Nz(rise.StandardError), fall.Mean - 2 * Nz(fall.StandardError));
        var high = Math.Min(rise.Mean + 2 * Nz(rise.StandardError), fall.Mean + 2 * Nz(fall.StandardError));
        return low >= threshold ? "reproduced" : high < threshold ? "not reproduced" : "inconclusive (within two standard errors)";
    }

    private static double Nz(double v) => double.IsFinite(v) ? v : 0;

    /// <summary>[setting][trained step] = [rise fraction, fall fraction].</summary>
    private static double[][][] Measure(ComparisonContext context, long seed, IReadOnlyList<int> trained)
    {
        var pipeline = context.Evaluator.Pipeline;
        var sampler = context.Evaluator.CreateSampler();
        var reward = context.Evaluator.Panel.Models[Reward];
        var estimator = new StepRewardEstimator(pipeline.Decoder, reward);
        var probe = new TrajectoryProbe(sampler, pipeline.Decoder, [reward]);
        var prompts = PreferenceDisagreementSection.Prompts(context.Sizing.GuidanceSamples, seed + 100);
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(600_000 + seed));
        var condition = new PipelinePromptEncoder(pipeline).Encode(prompts, ComparisonPage.GuidanceScale);
        var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
        var initial = randn([prompts.Count, pipeline.Unet.Config.InChannels, size, size], generator: generator);
        using var trajectory = probe.Run(initial, 0, condition, generator, keepInputs: true);
        var result = Settings.Select(_ => new List<double[]>()).ToArray();
        foreach (var s in trained)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
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
