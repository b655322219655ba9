using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using TailorPO.Core.IO;
using TailorPO.Reproduction.Runs;
using TailorPO.Reproduction.Sections;
using TailorPO.Reproduction.Statistics;

namespace TailorPO.Reproduction.Rendering;

/// <summary>
/// Builds docs/results.md: every section is measured in order (section 1 trains the runs the later ones reuse), then
/// every section's claims are decided together (Holm over the page) and the header and sections are rendered. The page
/// is rewritten after every measured section, so an interrupted run still leaves a page saying what is missing. A reverse
/// runner measures the sections last to first and writes the page once section 1 is measured, i.e. at the end.
/// </summary>
public static class ReproductionPage
{
    /// <summary>The page's file name inside the docs folder.</summary>
    public const string FileName = "results.md";

    /// <summary>The sections, in page order.</summary>
    public static IReadOnlyList<IReproductionSection> Sections { get; } =
    [
        new PreferenceHeadlineSection(), new MethodComparisonSection(), new PreferenceDisagreementSection(), new GuidanceEffectSection(), new StepRewardErrorSection(),
        new AblationSection(), new GeneralisationSection(), new SensitivitySection(),
    ];

    /// <summary>The section titles, in order (the test checks each is on the page).</summary>
    public static IReadOnlyList<string> SectionTitles => Sections.Select(s => s.Title).ToList();

    /// <summary>The budget rule, stated once on the page and applied to every method.</summary>
    public const string BudgetRule =
        "images = final images generated during training, one per completed denoising trajectory (D3PO and the ablation's different-inputs " +
        "TailorPO: two trajectories per prompt = two images; DDPO: one per rollout; TailorPO/-G: one per trajectory - the K = 2 candidates at a trained " +
        "step are intermediate samples, not images; Diffusion-DPO: its offline set of pairs is generated once by the base model with as many images as " +
        "the image budget, and each pair it trains on counts as two images). Updates = optimizer updates counted by the trainer; every method makes " +
        "T_finetune updates per batch of pairs or samples, so equal updates give D3PO, Diffusion-DPO and the different-inputs ablation twice the images. " +
        "NFE = model (UNet) evaluations counted by the trainer's sampler, a CFG pair counting once; equal NFE reads each method's image count off the " +
        "line through its first and last equal-images points (the nearest evaluated point when that one is already behind the run).";

    /// <summary>The statistics, stated once on the page.</summary>
    public const string StatisticsRule =
        "Every claim is a test over training seeds (or analysis seeds where a section says so): Welch's t-test (Welch–Satterthwaite degrees of freedom) " +
        "for a difference of two methods, a one-sample t-test for a change against the base model or a threshold, and two one-sided tests (TOST) for " +
        "a claimed equivalence, with the margin stated. The decision p-value is two-sided (twice the smaller one-sided p-value). Holm's step-down " +
        "correction runs over every claim on the page; a claim is *reproduced* when its Holm-adjusted p is below 0.05 and the estimate points the " +
        "claimed way, *contradicted* when it is below 0.05 and points the other way, and *inconclusive* otherwise.";

    /// <summary>Why a small-scale number may differ from the paper's; printed under sections with claims.</summary>
    /// <param name="sizing">The sizing.</param>
    /// <param name="learnedReward">The section trains on the embedded preference model rather than an analytic reward.</param>
    public static string ScaleCaveat(ComparisonSizing sizing, bool learnedReward = false)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        var rewards = learnedReward
            ? "a tiny learned preference model of the shapes world instead of PickScore or HPSv2"
            : "analytic rewards (colourfulness, JPEG size) instead of learned ones";
        return string.Create(CultureInfo.InvariantCulture,
            $"Where a claim is not reproduced, the likely reasons are the scale: {sizing.Budget} training images per run (equal images) instead of the paper's 10,000, " +
            $"{sizing.Seeds.Count} seeds, a 32x32 pixel-space model of our own instead of SD v1.5, {sizing.Steps} DDIM steps instead of 20, and {rewards}.");
    }

    /// <summary>Appends one bullet per claim with its verdict, then a blank line.</summary>
    public static void AppendClaims(StringBuilder md, IEnumerable<Claim> claims, ClaimVerdicts verdicts)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(verdicts);
        foreach (var claim in claims) md.AppendLine(verdicts.Bullet(claim));
        md.AppendLine();
    }

    /// <summary>Which seeds a learning-rate sweep's cells come from: "on seed 0" or "mean ± std over seeds 0, 1".</summary>
    public static string SweepSeeds(ComparisonSizing sizing)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        var seeds = sizing.Seeds.Take(sizing.SweepSeeds).ToList();
        return seeds.Count == 1 ? $"on seed {seeds[0]}" : $"mean ± std over seeds {string.Join(", ", seeds)}";
    }

    /// <summary>The learning-rate sweep's table: per method its training-prompt reward at each rate of the grid, and the rate chosen.</summary>
    public static void AppendSweepTable(StringBuilder md, IReadOnlyList<double> rates, IEnumerable<MethodRuns> rows)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(rates);
        ArgumentNullException.ThrowIfNull(rows);
        var c = CultureInfo.InvariantCulture;
        md.AppendLine("| method | " + string.Join(" | ", rates.Select(l => $"lr {l.ToString(LearningRateFormat, c)}")) + " | chosen |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" --- |", rates.Count + 1)));
        foreach (var row in rows)
            md.AppendLine(c, $"| {MethodComparisonSection.Label(row.Configuration.Method)} | {string.Join(" | ", row.Sweep.Select(p => p.TrainingReward.Format()))} | {row.LearningRate.ToString(LearningRateFormat, c)} |");
        md.AppendLine();
    }

    /// <summary>How the page prints a learning rate (six decimals: the preference grid starts at 2.5e-4).</summary>
    public const string LearningRateFormat = "0.######";

    /// <summary>Ends a section that decides claims on training runs: the scale caveat and the provenance line.</summary>
    /// <param name="md">The section's markdown.</param>
    /// <param name="context">The harness's context.</param>
    /// <param name="title">The section's title (its compute is recorded under it).</param>
    /// <param name="seedsNote">Replaces "training seeds ..." in the provenance line (sections decided on analysis seeds).</param>
    /// <param name="learnedReward">The section trains on the embedded preference model (the caveat names it).</param>
    public static void EndSectionWithVerdicts(StringBuilder md, ReproductionContext context, string title, string? seedsNote = null, bool learnedReward = false)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(context);
        md.AppendLine(ScaleCaveat(context.Sizing, learnedReward));
        md.AppendLine();
        md.AppendLine(context.Provenance(title, seedsNote));
        md.AppendLine();
    }

    /// <summary>Measures every section and writes results.md (and its PNGs) into the context's output folder.</summary>
    public static async Task WriteAsync(ReproductionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var total = Stopwatch.StartNew();
        // By page position. A reverse runner (a second process sharing the work folder) measures the sections backwards,
        // but the page only ever holds the measured sections from the first on: analysis, Holm's correction over the page
        // and rendering see them in page order, so the page cannot depend on the order they were measured in.
        var measured = new SectionMeasurements?[Sections.Count];
        var saved = 0;
        foreach (var i in WorkOrder.Indices(Sections.Count, context.Runner.Reverse))
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var section = Sections[i];
            var clock = Stopwatch.StartNew();
            context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] section {i + 1} of {Sections.Count}: {section.Title[3..]}"));
            measured[i] = await section.MeasureAsync(context).ConfigureAwait(false);
            context.RecordCompute(section.Title, clock.Elapsed.TotalSeconds);
            context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] section {i + 1} measured in {clock.Elapsed.TotalMinutes:F1} min"));
            var prefix = MeasuredPrefix(measured);
            if (prefix.Count == saved) continue;
            Save(context, prefix, total);
            saved = prefix.Count;
        }
    }

    // The measured sections from the first on, up to the first one not measured yet.
    private static List<SectionMeasurements> MeasuredPrefix(IEnumerable<SectionMeasurements?> measured) =>
        measured.TakeWhile(m => m is not null).Select(m => m!).ToList();

    private static void Save(ReproductionContext context, IReadOnlyList<SectionMeasurements> measured, Stopwatch total)
    {
        var analyses = measured.Select((m, i) => Sections[i].Analyse(context, m)).ToList();
        var verdicts = new ClaimVerdicts(analyses.SelectMany(a => a.Claims).ToList());
        var sections = analyses.Select((a, i) => Sections[i].Render(context, a, verdicts)).ToList();
        var c = CultureInfo.InvariantCulture;
        var s = context.Sizing;
        var md = new StringBuilder();
        md.AppendLine("# Results: TailorPO and the baselines at small scale");
        md.AppendLine();
        md.AppendLine("<!-- Generated by samples/TailorPO.Reproduction (the samples CLI's `compare`); do not edit by hand: every number below was measured by the run stated here. -->");
        md.AppendLine();
        md.AppendLine($"This page reproduces the paper's claims on this repository's embedded 32x32 pixel-space model (docs/embedded-model.md), not on SD v1.5. " +
            $"It was written by `{context.CommandLine}` ({s.Name} sizing) on {context.Machine}. Training runs and analyses are cached in the " +
            $"work folder and a rerun reuses them, so every wall time is the one measured when the result was first computed: " +
            $"{context.Runner.Completed} training runs took {context.Runner.TotalCompute.TrainingSeconds / 60:F1} min of training and the analyses " +
            $"{context.Runner.TotalCompute.AnalysisSeconds / 60:F1} min (this invocation: {total.Elapsed.TotalMinutes:F1} min). A run resumed after an " +
            "interruption counts only the time after its resume.");
        md.AppendLine();
        md.AppendLine(c, $"- Sizing: {s.Steps} DDIM steps (eta 1, CFG {RunTraining.GuidanceScale}), T_finetune {s.TrainedSteps}, image budget {s.Budget} per run " +
            $"evaluated at {s.Stages} point(s) plus the equal-updates and equal-NFE points, batch {s.Batch}, training seeds {string.Join(", ", s.Seeds)}, learning rates " +
            $"{string.Join(", ", s.LearningRates.Select(l => l.ToString("0.####", c)))} (swept per method on seeds {string.Join(", ", s.Seeds.Take(s.SweepSeeds))}); evaluation on " +
            $"{context.Evaluator.HeldOutPrompts.Count} held-out prompts x {context.Evaluator.Seeds.Count} seeds ({string.Join(", ", context.Evaluator.Seeds)}).");
        md.AppendLine(c, $"- Held-out prompts: {string.Join("; ", context.Evaluator.HeldOutPrompts.Select(p => $"\"{p}\""))}.");
        md.AppendLine(c, $"- Budgets: {BudgetRule}");
        md.AppendLine(c, $"- Statistics: {StatisticsRule} This page holds {verdicts.Claims.Count} claims.");
        md.AppendLine("- \"mean ± std\": the standard deviation is seed-to-seed.");
        md.AppendLine();
        if (measured.Count < Sections.Count)
        {
            md.AppendLine($"**Incomplete:** this run stopped after section {measured.Count}; sections {measured.Count + 1}-{Sections.Count} are missing " +
                "and their claims are not in Holm's family yet (rerun the same command: finished training runs are reused).");
            md.AppendLine();
        }
        foreach (var section in sections) md.Append(section);
        AtomicFile.WriteAllText(Path.Combine(context.OutputFolder, FileName), md.ToString());
    }
}
