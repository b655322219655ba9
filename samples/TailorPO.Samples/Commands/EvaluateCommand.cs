using TailorPO.Shapes.Evaluation;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Core.IO;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Evaluation;
using TailorPO.Samples.Imaging;
using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>evaluate</c>.</summary>
public sealed class EvaluateSettings : ModelSettings
{
    /// <summary>Images to generate and measure.</summary>
    [CommandOption("--samples <N>")]
    [Description("Images to generate and measure (one caption each).")]
    [DefaultValue(64)]
    public int Samples { get; init; } = 64;

    /// <summary>Which captions.</summary>
    [CommandOption("--split <SPLIT>")]
    [Description("heldout (combinations never trained on) or training.")]
    [DefaultValue("heldout")]
    public string Split { get; init; } = "heldout";

    /// <summary>Images per pipeline call.</summary>
    [CommandOption("--batch <N>")]
    [Description("Images per pipeline call.")]
    [DefaultValue(32)]
    public int Batch { get; init; } = 32;

    /// <summary>Optional grid of the evaluated images.</summary>
    [CommandOption("--grid <FILE>")]
    [Description("Also write the evaluated images as a PNG grid (caption and verdict under each).")]
    public string? Grid { get; init; }

    /// <summary>Optional JSON report.</summary>
    [CommandOption("--report <FILE>")]
    [Description("Also write the figures and every sample's measurement as JSON.")]
    public string? Report { get; init; }

    /// <summary>Also evaluate a reward.</summary>
    [CommandOption("--reward <REWARD>")]
    [Description("Also score generated images with a reward (the names of align --reward): mean +- std over held-out prompts x --reward-seeds, base model vs --lora.")]
    public string? Reward { get; init; }

    /// <summary>Seeds of the reward evaluation.</summary>
    [CommandOption("--reward-seeds <N>")]
    [Description("Held-out seeds per held-out prompt for --reward.")]
    [DefaultValue(8)]
    public int RewardSeeds { get; init; } = 8;

    /// <summary>CLIP weights for aesthetic / clip-score.</summary>
    [CommandOption("--clip-model|--reward-model <FOLDER>")]
    [Description("CLIP weights for --reward aesthetic or clip-score; with --reward hpsv2 or imagereward (spelt --reward-model), the converted reward model folder.")]
    public string? ClipModel { get; init; }

    /// <summary>The aesthetic MLP.</summary>
    [CommandOption("--aesthetic-head <FILE>")]
    [Description("The LAION aesthetic MLP (safetensors) for --reward aesthetic.")]
    public string? AestheticHead { get; init; }

    /// <summary>Also run the GenEval-style grade.</summary>
    [CommandOption("--grade")]
    [Description("Also grade GenEval-style: held-out captions x seeds, per-attribute accuracy (shape, shape colour, background colour, pattern, all four) by the exact measurer with standard errors, JPEG size and colourfulness as off-target monitors, and diversity between seeds; base vs --lora with paired gains.")]
    public bool Grade { get; init; }

    /// <summary>Captions of the grade.</summary>
    [CommandOption("--grade-captions <N>")]
    [Description("Held-out captions the grade draws.")]
    [DefaultValue(24)]
    public int GradeCaptions { get; init; } = 24;

    /// <summary>Seeds per caption of the grade.</summary>
    [CommandOption("--grade-seeds <N>")]
    [Description("Seeds per caption the grade draws.")]
    [DefaultValue(8)]
    public int GradeSeeds { get; init; } = 8;

    /// <summary>The grade's chart.</summary>
    [CommandOption("--chart <FILE>")]
    [Description("With --grade: also write the per-attribute accuracy as a bar chart (PNG, base vs --lora, one standard error whiskers).")]
    public string? Chart { get; init; }

    /// <summary>The grade's settings.</summary>
    public AttributeGradeOptions GradeOptions => new()
    {
        Captions = GradeCaptions,
        SeedsPerCaption = GradeSeeds,
        Steps = Steps,
        GuidanceScale = GuidanceScale,
        Eta = Eta,
    };

    /// <summary>The parsed split.</summary>
    public DatasetSplit ParsedSplit => Split.Equals("training", StringComparison.OrdinalIgnoreCase) ? DatasetSplit.Training : DatasetSplit.HeldOut;

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        foreach (var problem in base.Problems()) yield return problem;
        if (Samples is < 1 or > 100_000) yield return $"--samples must lie in [1, 100000]; got {Samples}.";
        if (Batch is < 1 or > 1024) yield return $"--batch must lie in [1, 1024]; got {Batch}.";
        if (!Split.Equals("heldout", StringComparison.OrdinalIgnoreCase) && !Split.Equals("training", StringComparison.OrdinalIgnoreCase))
            yield return $"--split must be heldout or training; got '{Split}'.";
        if (Grid is not null && OutputFileProblem("--grid", Grid) is { } grid) yield return grid;
        if (Report is not null && OutputFileProblem("--report", Report) is { } report) yield return report;
        if (Reward is not null)
            foreach (var problem in Alignment.RewardChoice.Problems(Reward, ClipModel, AestheticHead)) yield return problem;
        if (Grade)
            foreach (var problem in GradeOptions.Problems("--grade-captions", "--grade-seeds")) yield return problem;
        if (Chart is not null && !Grade) yield return "--chart draws the grade: add --grade.";
        if (Chart is not null && OutputFileProblem("--chart", Chart) is { } chart) yield return chart;
        if (RewardSeeds is < 2 or > 1000) yield return $"--reward-seeds must lie in [2, 1000] (the standard error needs two); got {RewardSeeds}.";
    }
}

/// <summary>
/// <c>evaluate</c>: caption fidelity - generates images for captions of the shape dataset (by default
/// the held-out combinations) and reports how often the dominant foreground colour, the shape and the
/// background agree with the caption.
/// </summary>
public sealed class EvaluateCommand(IAnsiConsole console) : Command<EvaluateSettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, EvaluateSettings settings, CancellationToken cancellationToken)
    {
        var device = TorchSetup.Apply(settings, console);
        var options = new CaptionFidelityOptions
        {
            Samples = settings.Samples,
            Split = settings.ParsedSplit,
            Seed = settings.Seed ?? new CaptionFidelityOptions().Seed,
            Steps = settings.Steps,
            GuidanceScale = settings.GuidanceScale,
            Eta = settings.Eta,
            BatchSize = settings.Batch,
        };
        using var pipeline = ModelLoader.Load(settings, device, out var adapter);
        var images = new List<Tensor>();
        CaptionFidelityReport report = null!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("evaluate", maxValue: options.Samples);
                report = CaptionFidelityEvaluator.Evaluate(pipeline, options, (done, batch) =>
                {
                    task.Value = done;
                    if (settings.Grid is not null) images.Add(batch.clone());
                }, cancellationToken);
            });

        console.Write(FidelityTable(report, settings));
        if (settings.Grid is not null)
        {
            using var all = cat(images, 0);
            var captions = report.Samples.Select(s => $"{s.Caption} -> {Verdict(s)}").ToList();
            CaptionedGrid.Save(settings.Grid, all, captions, columns: 8, scale: 4, maxCaptionLines: 5);
            foreach (var image in images) image.Dispose();
            console.MarkupLine("Grid: [blue]{0}[/]", Markup.Escape(Path.GetFullPath(settings.Grid)));
        }
        if (settings.Report is not null)
        {
            WriteReport(settings.Report, report, settings);
            console.MarkupLine("Report: [blue]{0}[/]", Markup.Escape(Path.GetFullPath(settings.Report)));
        }
        if (settings.Reward is not null)
            console.Write(RewardTable(Alignment.RewardEvaluation.Run(pipeline, adapter, settings, cancellationToken), settings));
        if (settings.Grade) RunGrade(pipeline, adapter, settings, cancellationToken);
        return ExitCodes.Success;
    }

    private void RunGrade(TailorPO.Diffusion.Pipelines.StableDiffusionPipeline pipeline, TailorPO.Diffusion.Lora.LoraAdapter? adapter,
        EvaluateSettings settings, CancellationToken cancellationToken)
    {
        AttributeGradeReport grade = null!;
        var (preference, owner) = Alignment.RewardChoice.Build("preference");
        using var _ = owner;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("grade", maxValue: 1);
                grade = AttributeGrader.Grade(pipeline, adapter, settings.GradeOptions, [new GradeMonitor("preference model score", preference), .. GradeMonitor.OffTarget()],
                    (done, total) => (task.MaxValue, task.Value) = (total, done), cancellationToken);
            });
        console.Write(GradeTable(grade));
        if (settings.Chart is not null)
        {
            AttributeAccuracyChart.Save(grade, settings.Chart);
            console.MarkupLine("Chart: [blue]{0}[/]", Markup.Escape(Path.GetFullPath(settings.Chart)));
        }
    }

    /// <summary>The Spectre table of a grade: accuracy per attribute, the monitors and diversity.</summary>
    public static Table GradeTable(AttributeGradeReport grade)
    {
        ArgumentNullException.ThrowIfNull(grade);
        var c = CultureInfo.InvariantCulture;
        var table = new Table().Title(string.Create(c,
            $"Grade, {grade.Options.Captions} held-out captions x {grade.Options.SeedsPerCaption} seeds ({grade.Options.Steps} steps, CFG {grade.Options.GuidanceScale}, eta {grade.Options.Eta})"));
        table.AddColumn("measure");
        table.AddColumn(new TableColumn("base").RightAligned());
        if (grade.Aligned is not null)
        {
            table.AddColumn(new TableColumn("with LoRA").RightAligned());
            table.AddColumn(new TableColumn("paired change").RightAligned());
        }
        static string Share(Estimate e) => string.Create(CultureInfo.InvariantCulture, $"{e.Mean:P1} +- {e.StandardError * 100:F1}");
        static string Value(Estimate e) => string.Create(CultureInfo.InvariantCulture, $"{e.Mean:G4} +- {e.StandardError:G2}");
        foreach (var attribute in GradedAttribute.All)
        {
            if (grade.Aligned is null) table.AddRow(attribute.Name, Share(grade.Base.Accuracy(attribute)));
            else
            {
                var gain = grade.Gain(attribute);
                table.AddRow(attribute.Name, Share(grade.Base.Accuracy(attribute)), Share(grade.Aligned.Accuracy(attribute)),
                    string.Create(c, $"{gain.Mean * 100:+0.0;-0.0;0.0} +- {gain.StandardError * 100:F1} pts{(double.IsNaN(gain.StandardErrors) ? "" : $" ({gain.StandardErrors:F1} s.e.)")}"));
            }
        }
        for (var m = 0; m < grade.MonitorNames.Count; m++)
        {
            if (grade.Aligned is null) table.AddRow(Markup.Escape(grade.MonitorNames[m]), Value(grade.Base.Monitor(m)));
            else table.AddRow(Markup.Escape(grade.MonitorNames[m]), Value(grade.Base.Monitor(m)), Value(grade.Aligned.Monitor(m)), Value(grade.MonitorGain(m)));
        }
        if (grade.MonitorNames.Count > 0)
            foreach (var attribute in GradedAttribute.All.Take(GradedAttribute.All.Count - 1))
            {
                // Does the reward see the attribute at all (0.5 = blind)? Shown where a caption has both right and wrong images.
                static string Agreement(RankingAgreement a) => a.Pairs == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{a.Share:P0} of {a.Pairs} pairs");
                var baseAgreement = grade.Base.Agreement(attribute, 0);
                var alignedAgreement = grade.Aligned?.Agreement(attribute, 0);
                if (baseAgreement.Pairs == 0 && (alignedAgreement?.Pairs ?? 0) == 0) continue;
                var name = Markup.Escape($"{grade.MonitorNames[0]} ranks right {attribute.Name} above wrong");
                if (alignedAgreement is null) table.AddRow(name, Agreement(baseAgreement));
                else table.AddRow(name, Agreement(baseAgreement), Agreement(alignedAgreement), "");
            }
        if (grade.Aligned is null) table.AddRow("diversity (RMS pixel distance)", grade.Base.Diversity.ToString("F4", c));
        else table.AddRow("diversity (RMS pixel distance)", grade.Base.Diversity.ToString("F4", c), grade.Aligned.Diversity.ToString("F4", c),
            grade.DiversityRatio.ToString("P0", c) + " of base");
        return table;
    }

    /// <summary>The Spectre table of a reward evaluation.</summary>
    public static Table RewardTable(TailorPO.Training.Evaluation.EvaluationReport report, EvaluateSettings settings)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(settings);
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
            $"Reward '{settings.Reward}', {report.Prompts.Count} held-out prompts x {report.Seeds.Count} seeds (eta 1, {settings.Steps} steps, CFG {settings.GuidanceScale})"));
        table.AddColumn("model");
        table.AddColumn(new TableColumn("mean").RightAligned());
        table.AddColumn(new TableColumn("std").RightAligned());
        var (baseMean, baseStd) = report.ReferenceSummary;
        table.AddRow("base", baseMean.ToString("G5", CultureInfo.InvariantCulture), baseStd.ToString("G4", CultureInfo.InvariantCulture));
        if (settings.Lora is not null)
        {
            var (loraMean, loraStd) = report.PolicySummary;
            table.AddRow("with LoRA", loraMean.ToString("G5", CultureInfo.InvariantCulture), loraStd.ToString("G4", CultureInfo.InvariantCulture));
            table.Caption(string.Create(CultureInfo.InvariantCulture,
                $"improvement {loraMean - baseMean:G4} (seed-to-seed standard error {report.ImprovementStandardError:G3})"));
        }
        return table;
    }

    /// <summary>The Spectre table of a report.</summary>
    public static Table FidelityTable(CaptionFidelityReport report, ModelSettings settings)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(settings);
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
            $"Caption fidelity, {report.Count} {(report.Split == DatasetSplit.HeldOut ? "held-out" : "training")} captions ({report.Steps} steps, CFG {report.GuidanceScale}, eta {report.Eta})"));
        table.AddColumn("measure");
        table.AddColumn(new TableColumn("agreement").RightAligned());
        table.AddColumn(new TableColumn("+- s.e.").RightAligned());
        void Row(string name, double share) => table.AddRow(name,
            share.ToString("P1", CultureInfo.InvariantCulture), report.StandardError(share).ToString("P1", CultureInfo.InvariantCulture));
        Row("shape colour (dominant foreground)", report.ColorAgreement);
        Row("shape", report.ShapeAgreement);
        Row("background colour", report.BackgroundColorAgreement);
        Row("background pattern", report.TextureAgreement);
        Row("background (colour and pattern)", report.BackgroundAgreement);
        Row("everything", report.AllAgreement);
        table.Caption(Markup.Escape($"model: {settings.ModelFolder}{(settings.Lora is null ? "" : $", LoRA: {settings.Lora}")}"));
        return table;
    }

    private static string Verdict(FidelitySample sample)
    {
        var m = sample.Measured;
        return $"{m.ShapeColor ?? "none"} {(m.Shape?.ToString().ToLowerInvariant() ?? "none")}, {m.Texture.ToString().ToLowerInvariant()} {m.BackgroundColor}"
            + (sample.ColorMatches && sample.ShapeMatches && sample.BackgroundMatches ? " ok" : "");
    }

    private static void WriteReport(string path, CaptionFidelityReport report, ModelSettings settings)
    {
        var document = new
        {
            model = Path.GetFullPath(settings.ModelFolder),
            lora = settings.Lora is null ? null : Path.GetFullPath(settings.Lora),
            split = report.Split.ToString(),
            steps = report.Steps,
            guidance_scale = report.GuidanceScale,
            eta = report.Eta,
            count = report.Count,
            color_agreement = report.ColorAgreement,
            shape_agreement = report.ShapeAgreement,
            background_color_agreement = report.BackgroundColorAgreement,
            texture_agreement = report.TextureAgreement,
            background_agreement = report.BackgroundAgreement,
            all_agreement = report.AllAgreement,
            samples = report.Samples.Select(s => new
            {
                caption = s.Caption,
                seed = s.Seed,
                measured_color = s.Measured.ShapeColor,
                measured_shape = s.Measured.Shape?.ToString().ToLowerInvariant(),
                measured_background = s.Measured.BackgroundColor,
                measured_texture = s.Measured.Texture.ToString().ToLowerInvariant(),
                object_pixels = s.Measured.ObjectPixels,
                fill_ratio = s.Measured.FillRatio,
                centroid_height = s.Measured.CentroidHeight,
            }),
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }
}
