using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using TailorPO.Samples.Cli;
using TailorPO.Samples.RewardPretraining;
using TailorPO.Shapes;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>pretrain-reward</c>.</summary>
public sealed class PretrainRewardSettings : GlobalSettings
{
    /// <summary>Largest model folder the command accepts to build: the embedded one must stay below 10 MB.</summary>
    public const long MaximumBytes = 10_000_000;

    /// <summary>The model folder written.</summary>
    [CommandOption("-o|--output <FOLDER>")]
    [Description("The transformers CLIPModel folder to write (replaced atomically at the end), with retrieval.md.")]
    [DefaultValue("preference-model")]
    public string Output { get; init; } = "preference-model";

    /// <summary>Tokenizer folder.</summary>
    [CommandOption("--tokenizer <FOLDER>")]
    [Description("Folder with the CLIP vocab.json and merges.txt. Default: the embedded model's tokenizer.")]
    public string? Tokenizer { get; init; }

    /// <summary>Optimizer steps.</summary>
    [CommandOption("--steps <N>")]
    [Description("Optimizer steps.")]
    [DefaultValue(1800)]
    public int Steps { get; init; } = 1800;

    /// <summary>Batch size.</summary>
    [CommandOption("--batch <N>")]
    [Description("Images per step (>= 2: the InfoNCE contrasts them).")]
    [DefaultValue(64)]
    public int Batch { get; init; } = 64;

    /// <summary>Peak learning rate.</summary>
    [CommandOption("--lr <RATE>")]
    [Description("Peak AdamW learning rate (linear warm-up over 100 steps, cosine decay to a tenth).")]
    [DefaultValue(1e-3)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Weight of the hard-negative loss.</summary>
    [CommandOption("--hard-weight <W>")]
    [Description("Weight of the per-image cross-entropy over the true caption and its one-attribute-off captions, next to the InfoNCE.")]
    [DefaultValue(1.0)]
    public double HardWeight { get; init; } = 1.0;

    /// <summary>Weight of the shape term.</summary>
    [CommandOption("--shape-weight <W>")]
    [Description("Weight of the shape term inside the hard-negative loss (colours and pattern weigh 1).")]
    [DefaultValue(3.0)]
    public double ShapeWeight { get; init; } = 3.0;

    /// <summary>Patch size.</summary>
    [CommandOption("--patch-size <P>")]
    [Description("Vision patch side in pixels; must divide the 32-pixel image.")]
    [DefaultValue(4)]
    public int PatchSize { get; init; } = 4;

    /// <summary>Vision width.</summary>
    [CommandOption("--vision-width <N>")]
    [Description("Vision tower width (a multiple of 32; heads = width / 32).")]
    [DefaultValue(128)]
    public int VisionWidth { get; init; } = 128;

    /// <summary>Vision layers.</summary>
    [CommandOption("--vision-layers <N>")]
    [Description("Vision tower layers.")]
    [DefaultValue(4)]
    public int VisionLayers { get; init; } = 4;

    /// <summary>Text width.</summary>
    [CommandOption("--text-width <N>")]
    [Description("Text tower width (a multiple of 8; the 49,408-token embedding is most of the model's size).")]
    [DefaultValue(32)]
    public int TextWidth { get; init; } = 32;

    /// <summary>Text layers.</summary>
    [CommandOption("--text-layers <N>")]
    [Description("Text tower layers.")]
    [DefaultValue(3)]
    public int TextLayers { get; init; } = 3;

    /// <summary>Joint embedding width.</summary>
    [CommandOption("--projection-dim <N>")]
    [Description("Width of the joint image-text space.")]
    [DefaultValue(64)]
    public int ProjectionDim { get; init; } = 64;

    /// <summary>Images of the retrieval report.</summary>
    [CommandOption("--eval-images <N>")]
    [Description("Images per split in the retrieval report (held-out and training combinations); 0 skips it.")]
    [DefaultValue(256)]
    public int EvalImages { get; init; } = 256;

    /// <summary>Share of training images degraded towards generated ones.</summary>
    [CommandOption("--degrade <P>")]
    [Description("Share of training images degraded the way the small diffusion model draws (shrunk and enlarged back: soft, rounded edges; pixel noise); 0 (the default, the committed model) trains on crisp drawings only. Measured at 0.75: it did not make shapes visible on generated images (docs/embedded-model.md).")]
    [DefaultValue(0.0)]
    public double Degrade { get; init; }

    /// <summary>Smallest side of the degradation's shrinking.</summary>
    [CommandOption("--degrade-side <N>")]
    [Description("Smallest side (pixels) a degraded image is shrunk to before it is enlarged back.")]
    [DefaultValue(8)]
    public int DegradeSide { get; init; } = 8;

    /// <summary>Largest noise of the degradation.</summary>
    [CommandOption("--degrade-noise <STD>")]
    [Description("Largest standard deviation of a degraded image's pixel noise, in [-1, 1] pixel units.")]
    [DefaultValue(0.15)]
    public double DegradeNoise { get; init; } = 0.15;

    /// <summary>The degradation the options describe.</summary>
    public GeneratorLikeDegradation Degradation => new() { Probability = Degrade, MinimumSide = DegradeSide, MaximumNoise = DegradeNoise };

    /// <summary>Time limit in minutes.</summary>
    [CommandOption("--time-limit <MINUTES>")]
    [Description("Stop training after this many minutes and write the model trained so far.")]
    public double? TimeLimitMinutes { get; init; }

    /// <summary>Plain-text log interval when the output is not a terminal.</summary>
    [CommandOption("--log-every <N>")]
    [Description("Steps between log lines when the output is redirected.")]
    [DefaultValue(25)]
    public int LogEvery { get; init; } = 25;

    /// <summary>The tokenizer folder used.</summary>
    public string TokenizerFolder => Tokenizer ?? EmbeddedModel.TokenizerFolder;

    /// <summary>The architecture the options describe.</summary>
    public PreferenceModelDesign Design => new()
    {
        PatchSize = PatchSize,
        VisionHiddenSize = VisionWidth,
        VisionLayers = VisionLayers,
        TextHiddenSize = TextWidth,
        TextLayers = TextLayers,
        ProjectionDim = ProjectionDim,
    };

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (Steps < 1) yield return $"--steps must be >= 1; got {Steps}.";
        if (Batch < 2) yield return $"--batch must be >= 2 (the InfoNCE contrasts the images of a batch); got {Batch}.";
        if (RangeProblem("--lr", LearningRate, 1e-7, 1) is { } lr) yield return lr;
        if (RangeProblem("--hard-weight", HardWeight, 0, 100) is { } hard) yield return hard;
        if (RangeProblem("--shape-weight", ShapeWeight, 0, 100) is { } shape) yield return shape;
        var sizesOk = true;
        if (PatchSize < 1 || PatchSize > 32 || 32 % PatchSize != 0) { sizesOk = false; yield return $"--patch-size must divide the 32-pixel image (1, 2, 4, 8, 16 or 32); got {PatchSize}."; }
        if (VisionWidth < 32 || VisionWidth > 1024 || VisionWidth % 32 != 0) { sizesOk = false; yield return $"--vision-width must be a multiple of 32 in [32, 1024]; got {VisionWidth}."; }
        if (VisionLayers is < 1 or > 24) { sizesOk = false; yield return $"--vision-layers must lie in [1, 24]; got {VisionLayers}."; }
        if (TextWidth < 8 || TextWidth > 512 || TextWidth % 8 != 0) { sizesOk = false; yield return $"--text-width must be a multiple of 8 in [8, 512]; got {TextWidth}."; }
        if (TextLayers is < 1 or > 24) { sizesOk = false; yield return $"--text-layers must lie in [1, 24]; got {TextLayers}."; }
        if (ProjectionDim is < 8 or > 1024) { sizesOk = false; yield return $"--projection-dim must lie in [8, 1024]; got {ProjectionDim}."; }
        if (sizesOk && Design.ParameterCount() * 2 > MaximumBytes)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"the model would hold {Design.ParameterCount():N0} parameters, {Design.ParameterCount() * 2 / 1e6:F1} MB in float16; the limit is {MaximumBytes / 1e6:F0} MB. Lower --text-width (the token embedding), --vision-width or --vision-layers.");
        foreach (var problem in Degradation.Problems("--degrade", "--degrade-side", "--degrade-noise")) yield return problem;
        if (EvalImages is < 0 or > 100_000) yield return $"--eval-images must lie in [0, 100000]; got {EvalImages}.";
        if (LogEvery < 1) yield return $"--log-every must be >= 1; got {LogEvery}.";
        if (TimeLimitMinutes is { } minutes && !(minutes > 0 && double.IsFinite(minutes))) yield return $"--time-limit must be a positive number of minutes; got {minutes}.";
        if (FolderProblem("--tokenizer", TokenizerFolder) is { } tokenizer) yield return tokenizer;
        else
        {
            foreach (var file in RewardPretrainer.TokenizerFiles)
                if (!File.Exists(Path.Combine(TokenizerFolder, file)))
                    yield return $"--tokenizer '{TokenizerFolder}' lacks {file}.";
        }
        if (File.Exists(Output)) yield return $"--output '{Output}' is a file; give a folder.";
    }
}

/// <summary>
/// <c>pretrain-reward</c>: trains the embedded preference model, a tiny CLIP of the shapes world, contrastively
/// with one-attribute-off hard negatives, writes it as a transformers CLIPModel folder and reports its
/// retrieval accuracy per attribute on held-out combinations (retrieval.md).
/// </summary>
public sealed class PretrainRewardCommand(IAnsiConsole console) : Command<PretrainRewardSettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, PretrainRewardSettings settings, CancellationToken cancellationToken)
    {
        var device = TorchSetup.Apply(settings, console);
        var options = new RewardPretrainOptions
        {
            OutputFolder = settings.Output,
            TokenizerFolder = settings.TokenizerFolder,
            Design = settings.Design,
            Seed = settings.Seed ?? EmbeddedPreferenceModel.PretrainSeed,
            Steps = settings.Steps,
            BatchSize = settings.Batch,
            LearningRate = settings.LearningRate,
            HardNegativeWeight = settings.HardWeight,
            ShapeWeight = settings.ShapeWeight,
            Degradation = settings.Degradation,
            EvaluationImages = settings.EvalImages,
            TimeLimit = settings.TimeLimitMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
        };
        console.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]pretrain-reward[/] seed {0}, {1} steps x {2} images, lr {3}, patch {4}, {5:N0} parameters, {6} thread(s) on {7} -> [blue]{8}[/]",
            options.Seed, options.Steps, options.BatchSize, options.LearningRate, options.Design.PatchSize, options.Design.ParameterCount(),
            settings.EffectiveThreads, settings.Device, Markup.Escape(Path.GetFullPath(options.OutputFolder)));

        var trainer = new RewardPretrainer();
        RewardPretrainResult result;
        if (console.Profile.Capabilities.Interactive)
        {
            result = console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("pretrain-reward", maxValue: options.Steps);
                    var reporter = new InlineProgress<RewardPretrainProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.TotalSteps} loss {p.AverageLoss:F4} shape {p.ShapeAccuracy:P1}");
                    });
                    return trainer.Run(options, device, reporter, cancellationToken);
                });
        }
        else
        {
            var reporter = new InlineProgress<RewardPretrainProgress>(p =>
            {
                if (p.Step % settings.LogEvery == 0 || p.Step == p.TotalSteps)
                    console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} avg50 {p.AverageLoss:F4} shape-acc50 {p.ShapeAccuracy:F3} scale {p.LogitScale:F1} lr {p.LearningRate:G3} elapsed {p.Elapsed:hh\\:mm\\:ss}"));
            });
            result = trainer.Run(options, device, reporter, cancellationToken);
        }

        var bytes = new DirectoryInfo(result.OutputFolder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        console.MarkupLine(CultureInfo.InvariantCulture, "{0} after {1} steps in {2:hh\\:mm\\:ss}; final loss {3:F4}; model ({4:F1} MB) in [blue]{5}[/]",
            result.Completed ? "[green]done[/]" : "[yellow]stopped[/]", result.StepsDone, result.Elapsed, result.FinalAverageLoss, bytes / 1e6, Markup.Escape(result.OutputFolder));
        if (result.Report is { } report)
        {
            // Written as it is (not through the console's word wrap), so the Markdown table stays one row per line.
            console.Profile.Out.Writer.WriteLine();
            console.Profile.Out.Writer.Write(report.ToMarkdown());
            console.Profile.Out.Writer.Flush();
        }
        return !result.Completed && cancellationToken.IsCancellationRequested ? ExitCodes.Cancelled : ExitCodes.Success;
    }
}
