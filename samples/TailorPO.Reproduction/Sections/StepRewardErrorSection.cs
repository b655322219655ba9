using System.Globalization;
using System.Text;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Rendering;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Statistics;
using static TorchSharp.torch;

namespace TailorPO.Reproduction.Sections;

/// <summary>
/// Section 4 (the paper's Table 6, measured as the paper measures it): trajectories of <see cref="ComparisonSizing.EstimateSteps"/>
/// DDIM steps (the paper: 20); at the step indices matching t = 12, 8, 4, 1 the step reward r(c, x0_hat(x_t)) is compared
/// with its definition, the expected final reward E[r(c, x_0) | x_t], estimated by the mean over
/// <see cref="ComparisonSizing.Continuations"/> independent continuations (the paper: 100). Relative error |r - MC| / |MC|
/// per prompt, averaged; every reward is also judged against its own range (the error over the spread of its final
/// rewards). The base model and section 1's TailorPO LoRA (first seed) of each reward. An extra table gives every step
/// with fewer continuations.
/// </summary>
public sealed class StepRewardErrorSection : ReproductionSection<StepRewardErrorSection.Measured, StepRewardErrorSection.Analysis>
{
    /// <summary>The paper's t values (of 20 steps, t = 20 being x_T) at which Table 6 reports the error.</summary>
    public static readonly IReadOnlyList<int> PaperTimesteps = [12, 8, 4, 1];

    /// <summary>
    /// The largest relative error the paper reports per reward: 25% for JPEG compressibility (Table 7), 13% for the aesthetic
    /// score (Table 6), which colourfulness (no paper figure) is held to.
    /// </summary>
    public static double PaperThreshold(string reward) => reward == "jpeg-compressibility" ? 0.25 : 0.13;

    /// <inheritdoc />
    public override string Title => "## 4. Step-reward estimate error (Table 6)";

    /// <summary>The step index of <paramref name="t"/> in a trajectory of <paramref name="steps"/> steps (index 0 is x_T): steps - t x steps / 20.</summary>
    public static int StepIndex(int t, int steps) => Math.Clamp(steps - (int)Math.Round(t * steps / 20.0), 0, steps - 1);

    /// <summary>One probe of one analysis seed: per reward, per probed step, the relative and absolute errors; per reward the spread of its final rewards.</summary>
    /// <param name="Relative">[reward][probed step] mean over prompts of |r - MC| / |MC|.</param>
    /// <param name="Absolute">[reward][probed step] mean over prompts of |r - MC|.</param>
    /// <param name="Spread">[reward] max - min of the final rewards of every continuation.</param>
    /// <param name="PromptRelative">[reward][probed step][prompt] |r - MC| / |MC| of every prompt: the claims' observations.</param>
    public sealed record ProbeErrors(double[][] Relative, double[][] Absolute, double[] Spread, double[][][] PromptRelative);

    /// <summary>Per (model, reward): [analysis seed] errors at the paper's steps and at every step.</summary>
    public sealed record Measured(IReadOnlyList<int> PaperSteps, IReadOnlyDictionary<string, IReadOnlyList<ProbeErrors>> PaperErrors,
        IReadOnlyDictionary<string, IReadOnlyList<ProbeErrors>> AllSteps) : SectionMeasurements;

    /// <summary>The measurements and one claim per (model, reward).</summary>
    public sealed record Analysis(Measured Measured, IReadOnlyList<Claim> Claims) : SectionAnalysis(Claims);

    private static string Column(string model, string reward) => $"{model}, {reward}";

    /// <summary>
    /// The most latent rows one continuation batch denoises at once (classifier-free guidance doubles them): the paper's 100
    /// continuations of 4 prompts in one batch took gigabytes and ran far slower per image than batches of this size.
    /// </summary>
    public const int MaxContinuationRows = 64;

    /// <inheritdoc />
    protected override async Task<Measured> Measure(ReproductionContext context)
    {
        var s = context.Sizing;
        var rewards = MethodComparisonSection.Rewards;
        var paperSteps = PaperTimesteps.Select(t => StepIndex(t, s.EstimateSteps)).ToList();
        var allSteps = Enumerable.Range(0, s.EstimateSteps).ToList();
        var models = new List<(string Key, string Column, string? Lora, IReadOnlyList<string> Rewards)> { ("base", "base", null, rewards) };
        foreach (var reward in rewards)
        {
            var tailor = await context.Runs.GetAsync("tailorpo", reward, context.CancellationToken).ConfigureAwait(false);
            models.Add(($"tailorpo-{reward}", "TailorPO LoRA", Path.Combine(context.Runner.Folder(tailor.Runs[0].Run), RunTraining.LoraFile), [reward]));
        }
        // Every (model, seed, kind) is one cached analysis; a --reverse process takes them from the other end, so the two
        // processes sharing the work folder compute different ones instead of queueing on one lock.
        var jobs = (from model in models
                    from seed in context.AnalysisSeeds
                    from paperKind in new[] { true, false }
                    select (model, seed, paperKind)).ToList();
        var results = new ProbeErrors[jobs.Count];
        foreach (var j in WorkOrder.Indices(jobs.Count, context.Runner.Reverse))
        {
            var (model, seed, paperKind) = jobs[j];
            var (kind, steps, k) = paperKind ? ("paper", paperSteps, s.Continuations) : ("all", allSteps, s.AllStepsContinuations);
            // "-per-prompt": the format with PromptRelative; older cached sec4 results lack it.
            results[j] = context.Runner.Cached($"sec4-{model.Key}-{string.Join("+", model.Rewards)}-{kind}-seed{seed}-per-prompt",
                () => context.Evaluator.WithLora(model.Lora, _ => MeasureErrors(context, model.Rewards, seed, steps, k)), context.CancellationToken);
        }
        var paper = new Dictionary<string, IReadOnlyList<ProbeErrors>>();
        var all = new Dictionary<string, IReadOnlyList<ProbeErrors>>();
        foreach (var model in models)
            for (var r = 0; r < model.Rewards.Count; r++)
            {
                List<ProbeErrors> Of(bool paperKind) => jobs.Select((job, j) => (job, j))
                    .Where(x => x.job.model.Key == model.Key && x.job.paperKind == paperKind).Select(x => Pick(results[x.j], r)).ToList();
                paper[Column(model.Column, model.Rewards[r])] = Of(true);
                all[Column(model.Column, model.Rewards[r])] = Of(false);
            }
        return new Measured(paperSteps, paper, all);
    }

    private static ProbeErrors Pick(ProbeErrors e, int r) => new([e.Relative[r]], [e.Absolute[r]], [e.Spread[r]], [e.PromptRelative[r]]);

    private static string RewardOf(string column) => column[(column.LastIndexOf(", ", StringComparison.Ordinal) + 2)..];

    /// <inheritdoc />
    protected override Analysis Analyse(ReproductionContext context, Measured measurements)
    {
        var claims = measurements.PaperErrors.Select(kv => Claim.Below(
            string.Create(CultureInfo.InvariantCulture, $"{kv.Key}: the relative error at t = {string.Join(", ", PaperTimesteps)} stays below the paper's {PaperThreshold(RewardOf(kv.Key)):P0}"),
            PromptErrors(kv.Value), PaperThreshold(RewardOf(kv.Key)))).ToList();
        return new Analysis(measurements, claims);
    }

    /// <summary>
    /// The claims' observations: per analysis seed and prompt, the relative error averaged over the paper's steps. Prompts,
    /// not seeds, are the units: each prompt's x_T and continuations are drawn independently, and a t-test over a handful of
    /// seed means has too few degrees of freedom to decide anything after Holm's correction.
    /// </summary>
    public static IReadOnlyList<double> PromptErrors(IEnumerable<ProbeErrors> bySeed) =>
        bySeed.SelectMany(e => Enumerable.Range(0, e.PromptRelative[0][0].Length).Select(b => e.PromptRelative[0].Average(step => step[b]))).ToList();

    /// <inheritdoc />
    protected override void Render(ReproductionContext context, Analysis analysis, ClaimVerdicts verdicts, StringBuilder md)
    {
        var s = context.Sizing;
        var m = analysis.Measured;
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"{s.EstimatePrompts} training prompts per analysis seed, trajectories of {s.EstimateSteps} DDIM steps (the paper: 20). At the input x_t of the step " +
            $"indices matching the paper's t = {string.Join(", ", PaperTimesteps)} (indices {string.Join(", ", m.PaperSteps)}) the estimate r(c, x0_hat(x_t)) is compared with the mean " +
            $"final reward of {s.Continuations} independent continuations from x_t (the paper: 100). Cells: relative error |r - MC| / |MC|, then in brackets the " +
            $"error over the reward's own range (the spread of the final rewards of all continuations), mean over prompts, then mean ± std over the analysis seeds. " +
            $"*TailorPO LoRA* = section 1's TailorPO run (first seed) trained on that reward, trained at {s.Steps} steps and probed at {s.EstimateSteps}.");
        md.AppendLine();
        var columns = m.PaperErrors.Keys.ToList();
        md.AppendLine("| t (step index) | " + string.Join(" | ", columns) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- |", columns.Count)));
        for (var i = 0; i < m.PaperSteps.Count; i++)
        {
            var cells = columns.Select(k => $"{SeedStatistics.Of(m.PaperErrors[k].Select(e => e.Relative[0][i])).Format("P1")} " +
                $"({SeedStatistics.Of(m.PaperErrors[k].Select(e => e.Absolute[0][i] / e.Spread[0])).Format("P1")} of range)");
            md.AppendLine(c, $"| {PaperTimesteps[i]} ({m.PaperSteps[i]}) | {string.Join(" | ", cells)} |");
        }
        md.AppendLine();
        md.AppendLine(c, $"Extra: every step index, {s.AllStepsContinuations} continuations per x_t (relative error):");
        md.AppendLine();
        md.AppendLine("| step index | " + string.Join(" | ", columns) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- |", columns.Count)));
        for (var step = 0; step < s.EstimateSteps; step++)
            md.AppendLine(c, $"| {step} | {string.Join(" | ", columns.Select(k => SeedStatistics.Of(m.AllSteps[k].Select(e => e.Relative[0][step])).Format("P1")))} |");
        md.AppendLine();
        var (path, link) = context.Image("sec4-step-reward-error.png");
        var x = Enumerable.Range(0, s.EstimateSteps).Select(i => (double)i).ToArray();
        ResultPlots.Lines(path, "Relative error of r(x0_hat(x_t)) against the Monte-Carlo final reward (all steps)", "step index", "relative error",
            columns.Select(k => new ResultPlots.Series(k, x,
                x.Select(i => SeedStatistics.Of(m.AllSteps[k].Select(e => e.Relative[0][(int)i])).Mean).ToArray(),
                x.Select(i => SeedStatistics.Of(m.AllSteps[k].Select(e => e.Relative[0][(int)i])).Std).ToArray())));
        md.AppendLine(c, $"![step reward error]({link})");
        md.AppendLine();
        md.AppendLine("Claim (Table 6: 0.5-13% for the aesthetic score; Table 7: up to 25% for JPEG compressibility): the estimate's relative error is small at those steps; " +
            $"tested on the mean over the four steps of every prompt of every analysis seed ({s.EstimatePrompts} x {context.AnalysisSeeds.Count} observations).");
        md.AppendLine();
        ReproductionPage.AppendClaims(md, analysis.Claims, verdicts);
        md.AppendLine(context.Provenance(Title, $"analysis seeds {string.Join(", ", context.AnalysisSeeds)}; LoRA from training seed {s.Seeds[0]}"));
        md.AppendLine();
    }

    /// <summary>The errors at <paramref name="probed"/> step indices with whatever adapter is attached to the pipeline.</summary>
    private static ProbeErrors MeasureErrors(ReproductionContext context, IReadOnlyList<string> rewards, long seed, IReadOnlyList<int> probed, int k)
    {
        var pipeline = context.Evaluator.Pipeline;
        var sampler = context.Evaluator.CreateSampler(context.Sizing.EstimateSteps);
        var probe = new TrajectoryProbe(sampler, pipeline.Decoder, rewards.Select(r => context.Evaluator.Panel.Models[r]).ToList());
        var prompts = PreferenceDisagreementSection.Prompts(context.Sizing.EstimatePrompts, seed + 200);
        var b = prompts.Count;
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(700_000 + seed));
        var condition = new PipelinePromptEncoder(pipeline).Encode(prompts, RunTraining.GuidanceScale);
        var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
        var initial = randn([b, pipeline.Unet.Config.InChannels, size, size], generator: generator);
        using var trajectory = probe.Run(initial, 0, condition, generator, keepInputs: true);
        var perChunk = Math.Max(1, MaxContinuationRows / b);
        var relative = rewards.Select(_ => new double[probed.Count]).ToArray();
        var absolute = rewards.Select(_ => new double[probed.Count]).ToArray();
        var promptRelative = rewards.Select(_ => new double[probed.Count][]).ToArray();
        var (low, high) = (rewards.Select(_ => double.PositiveInfinity).ToArray(), rewards.Select(_ => double.NegativeInfinity).ToArray());
        for (var i = 0; i < probed.Count; i++)
        {
            var s = probed[i];
            var final = rewards.Select(_ => new double[k * b]).ToArray(); // [reward][j * B + b]: continuation j of prompt b
            for (var first = 0; first < k; first += perChunk)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                var copiesInChunk = Math.Min(perChunk, k - first);
                using var chunkScope = NewDisposeScope();
                var copies = trajectory.Inputs[s].repeat(copiesInChunk, 1, 1, 1); // copies of every prompt's x_t
                using var continued = probe.Run(copies, s, condition.RepeatBatch(copiesInChunk), generator, scoreSteps: false);
                for (var r = 0; r < rewards.Count; r++) Array.Copy(continued.Final[r], 0, final[r], first * b, copiesInChunk * b);
            }
            for (var r = 0; r < rewards.Count; r++)
            {
                var estimate = trajectory.Rows[s][r];
                var mc = Enumerable.Range(0, b).Select(p => Enumerable.Range(0, k).Average(j => final[r][j * b + p])).ToArray();
                promptRelative[r][i] = Enumerable.Range(0, b).Select(p => Math.Abs(estimate[p] - mc[p]) / Math.Max(Math.Abs(mc[p]), 1e-12)).ToArray();
                relative[r][i] = promptRelative[r][i].Average();
                absolute[r][i] = Enumerable.Range(0, b).Average(p => Math.Abs(estimate[p] - mc[p]));
                (low[r], high[r]) = (Math.Min(low[r], final[r].Min()), Math.Max(high[r], final[r].Max()));
            }
        }
        return new ProbeErrors(relative, absolute, rewards.Select((_, r) => Math.Max(high[r] - low[r], 1e-12)).ToArray(), promptRelative);
    }
}
