using System.Globalization;
using System.Text;
using TailorPO.Core.Threading;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;
using static TorchSharp.torch;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 2 (the paper's Fig. 2): with the base model, how often the order of two samples' step rewards at a step
/// disagrees with the order of their final rewards - for pairs from different x_T (D3PO's trajectory pairs) and for
/// pairs drawn from the same x_t and then continued independently (TailorPO's pairs). Ties are left out.
/// </summary>
public sealed class PreferenceDisagreementSection : ReproductionSection<PreferenceDisagreementSection.Measured, PreferenceDisagreementSection.Analysis>
{
    /// <summary>The rewards probed.</summary>
    public static readonly IReadOnlyList<string> Rewards = MethodComparisonSection.Rewards;

    /// <inheritdoc />
    public override string Title => "## 2. Preference-order disagreement (Fig. 2)";

    /// <summary>
    /// [analysis seed][setting][reward][step][pair]: <see cref="Disagrees"/>, <see cref="Agrees"/> or <see cref="Tie"/> (a tie in
    /// either order, left out).
    /// </summary>
    public sealed record Measured(IReadOnlyList<int[][][][]> BySeed) : SectionMeasurements
    {
        /// <summary>[analysis seed][setting][reward][step] the fraction of the untied pairs that disagree (0 when all tie).</summary>
        public IReadOnlyList<double[][][]> Fractions => BySeed.Select(m => m.Select(setting => setting.Select(reward => reward.Select(Fraction).ToArray()).ToArray()).ToArray()).ToList();

        private static double Fraction(int[] pairs)
        {
            var counted = pairs.Count(o => o != Tie);
            return counted == 0 ? 0 : pairs.Count(o => o == Disagrees) / (double)counted;
        }
    }

    /// <summary>The pair's step-reward order differs from its final order.</summary>
    public const int Disagrees = 1;

    /// <summary>The pair's two orders agree.</summary>
    public const int Agrees = 0;

    /// <summary>Either order is a tie.</summary>
    public const int Tie = -1;

    /// <summary>The measurements, per reward the mean disagreement over the non-final steps per seed, and the claims.</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<(SeedStatistics Different, SeedStatistics Same)> ByReward, IReadOnlyList<Claim> Claims)
        : SectionAnalysis(Claims);

    /// <inheritdoc />
    protected override Task<Measured> Measure(ReproductionContext context)
    {
        // "-per-pair": the format with every pair's outcome; older cached sec2 results hold only fractions.
        return Task.FromResult(new Measured(context.AnalysisSeeds.Select(seed => context.Runner.Cached($"sec2-seed{seed}-per-pair", () => Measure(context, seed), context.CancellationToken)).ToList()));
    }

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var steps = context.Sizing.Steps;
        var byReward = new List<(SeedStatistics, SeedStatistics)>();
        var claims = new List<Claim>();
        var fractions = measurements.Fractions;
        for (var r = 0; r < Rewards.Count; r++)
        {
            // Steps before the last, where the question is not trivial; the mean over those steps per seed.
            var different = fractions.Select(m => m[0][r].Take(steps - 1).Average()).ToList();
            var same = fractions.Select(m => m[1][r].Take(steps - 1).Average()).ToList();
            byReward.Add((SeedStatistics.Of(different), SeedStatistics.Of(same)));
            claims.Add(Claim.Above($"{Rewards[r]}: the step-reward order of pairs from different x_T disagrees with their final order for some pairs (mean over steps 0-{steps - 2} > 0)",
                PairDisagreement(measurements, r, steps - 1), 0));
        }
        return new Analysis(measurements, byReward, claims);
    }

    /// <summary>
    /// The claims' observations: per pair from different x_T (every analysis seed), the fraction of its untied steps among the
    /// first <paramref name="steps"/> at which it disagrees. Pairs are the independent units (independent prompts and noise);
    /// a t-test over two seed means would have one degree of freedom.
    /// </summary>
    public static IReadOnlyList<double> PairDisagreement(Measured measurements, int reward, int steps) =>
        measurements.BySeed.SelectMany(m =>
        {
            var bySteps = m[0][reward].Take(steps).ToArray();
            return Enumerable.Range(0, bySteps[0].Length).Select(pair => bySteps.Select(step => step[pair]).Where(o => o != Tie).ToList())
                .Where(outcomes => outcomes.Count > 0).Select(outcomes => outcomes.Average(o => (double)o));
        }).ToList();

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var steps = context.Sizing.Steps;
        var measured = analysis.Measured.Fractions;
        var c = CultureInfo.InvariantCulture;
        md.AppendLine($"Base model, {context.Sizing.DisagreementPairs} training prompts per analysis seed. At step index s (of {steps}) each pair holds two samples " +
            "x_{t-1}: *different x_T* = the step-s samples of two independent trajectories of the prompt (D3PO's pairs); *same x_t* = two samples drawn from " +
            "one x_t at step s and each continued to the end on its own (TailorPO's pairs). A pair disagrees when the order of the step rewards " +
            "r(c, x0_hat(x_{t-1})) differs from the order of the final rewards r(c, x_0). At the last step the samples are the final images, so both " +
            "settings agree there by construction. Cells: fraction of disagreeing pairs, mean ± std over the analysis seeds.");
        md.AppendLine();
        md.Append("| step index |");
        foreach (var reward in Rewards) md.Append(c, $" different x_T, {reward} | same x_t, {reward} |");
        md.AppendLine();
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- | --- |", Rewards.Count)));
        for (var s = 0; s < steps; s++)
        {
            md.Append(c, $"| {s} |");
            for (var r = 0; r < Rewards.Count; r++)
                for (var setting = 0; setting < 2; setting++)
                    md.Append(c, $" {SeedStatistics.Of(measured.Select(m => m[setting][r][s])).Format("F2")} |");
            md.AppendLine();
        }
        md.AppendLine();
        var (path, link) = context.Image("sec2-disagreement.png");
        var x = Enumerable.Range(0, steps).Select(i => (double)i).ToArray();
        ResultPlots.Lines(path, "Step-reward order vs final order: disagreement per step (base model)", "step index", "fraction of pairs that disagree",
            Rewards.SelectMany((reward, r) => new[] { 0, 1 }.Select(setting => new ResultPlots.Series(
                $"{(setting == 0 ? "different x_T" : "same x_t")}, {reward}", x,
                x.Select(s => SeedStatistics.Of(measured.Select(m => m[setting][r][(int)s])).Mean).ToArray(),
                x.Select(s => SeedStatistics.Of(measured.Select(m => m[setting][r][(int)s])).Std).ToArray()))));
        md.AppendLine(c, $"![disagreement per step]({link})");
        md.AppendLine();
        md.AppendLine(c, $"Claim (Fig. 2): the preference order of intermediate samples is not always the order of their final images; tested by a one-sample " +
            $"t-test over the pairs from different x_T ({context.Sizing.DisagreementPairs} per analysis seed), each pair's observation being the fraction of " +
            $"its untied steps 0-{steps - 2} at which it disagrees.");
        md.AppendLine();
        for (var r = 0; r < Rewards.Count; r++)
        {
            var (different, same) = analysis.ByReward[r];
            md.AppendLine(verdicts.Bullet(analysis.Claims[r]) + string.Create(c,
                $". Different x_T: {different.Format("F2")}; same x_t: {same.Format("F2")} - pairs from one x_t differ by one noise draw, so which of their two single " +
                $"continuations ends higher is mostly decided by the later noise; TailorPO's step reward estimates the expected final reward of a sample, not one continuation's outcome (section 4)."));
        }
        md.AppendLine();
        md.AppendLine(context.Provenance(Title, $"analysis seeds {string.Join(", ", context.AnalysisSeeds)}"));
        md.AppendLine();
    }

    /// <summary>[setting][reward][step][pair] outcomes for one analysis seed.</summary>
    private static int[][][][] Measure(ReproductionContext context, long seed)
    {
        var pipeline = context.Evaluator.Pipeline;
        var sampler = context.Evaluator.CreateSampler();
        var probe = new TrajectoryProbe(sampler, pipeline.Decoder, Rewards.Select(r => context.Evaluator.Panel.Models[r]).ToList());
        var steps = sampler.Timesteps.Count;
        var n = context.Sizing.DisagreementPairs;
        var prompts = Prompts(n, seed);
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(500_000 + seed));
        var condition = new PipelinePromptEncoder(pipeline).Encode(prompts, RunTraining.GuidanceScale);
        var pairCondition = condition.RepeatBatch(2);
        var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
        var result = new int[2][][][];
        for (var setting = 0; setting < 2; setting++)
            result[setting] = Rewards.Select(_ => new int[steps][]).ToArray();

        // Different x_T: 2n independent trajectories; the sample after step s has its step reward in row s + 1.
        var initial = randn([2L * n, pipeline.Unet.Config.InChannels, size, size], generator: generator);
        using var trajectories = probe.Run(initial, 0, pairCondition, generator, keepInputs: true);
        for (var r = 0; r < Rewards.Count; r++)
            for (var s = 0; s < steps; s++)
                result[0][r][s] = Disagreement(trajectories.Rows[s + 1][r], trajectories.Final[r], n);

        // Same x_t: two samples from trajectory 0's input of step s, each continued independently.
        for (var s = 0; s < steps; s++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            using var noGrad = no_grad();
            var xt = trajectories.Inputs[s][..n];
            using var gate = FinalizerGate.Close(); // the continuation's probe holds it per step too (closings nest)
            var candidates = sampler.Step(xt, s, condition, 2, generator).Candidates.flatten(0, 1); // [2n]: candidate 0 of every prompt, then candidate 1
            using var continued = probe.Run(candidates, s + 1, pairCondition, generator);
            for (var r = 0; r < Rewards.Count; r++)
                result[1][r][s] = Disagreement(continued.Rows[0][r], continued.Final[r], n);
        }
        return result;
    }

    /// <summary>Training captions spread over the list, offset by the seed.</summary>
    public static IReadOnlyList<string> Prompts(int count, long seed) => EvaluationPrompts.Spread(EvaluationPrompts.Training, count, seed * 7);

    /// <summary>Per pair (i, n + i): whether its step-reward order differs from its final order.</summary>
    private static int[] Disagreement(double[] step, double[] final, int n) => Enumerable.Range(0, n).Select(i =>
    {
        var a = Math.Sign(step[i] - step[n + i]);
        var b = Math.Sign(final[i] - final[n + i]);
        return a == 0 || b == 0 ? Tie : a != b ? Disagrees : Agrees;
    }).ToArray();
}
