using System.ComponentModel;
using System.Globalization;
using Spectre.Console.Cli;
using Spectre.Console;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Pretraining;
using TailorPO.Shapes;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>pretrain</c>.</summary>
public sealed class PretrainSettings : GlobalSettings
{
    /// <summary>The model folder written.</summary>
    [CommandOption("-o|--output <FOLDER>")]
    [Description("The diffusers folder to write (replaced atomically at every checkpoint).")]
    [DefaultValue("tiny-model")]
    public string Output { get; init; } = "tiny-model";

    /// <summary>Training state folder.</summary>
    [CommandOption("--state <FOLDER>")]
    [Description("Training state for --resume (weights, optimizer, loss.csv). Default: <output>.state")]
    public string? State { get; init; }

    /// <summary>Tokenizer folder.</summary>
    [CommandOption("--tokenizer <FOLDER>")]
    [Description("Folder with the CLIP vocab.json and merges.txt. Default: the embedded model's tokenizer.")]
    public string? Tokenizer { get; init; }

    /// <summary>Optimizer steps.</summary>
    [CommandOption("--steps <N>")]
    [Description("Optimizer steps.")]
    [DefaultValue(2000)]
    public int Steps { get; init; } = 2000;

    /// <summary>Batch size.</summary>
    [CommandOption("--batch <N>")]
    [Description("Images per step.")]
    [DefaultValue(32)]
    public int Batch { get; init; } = 32;

    /// <summary>Peak learning rate.</summary>
    [CommandOption("--lr <RATE>")]
    [Description("Peak AdamW learning rate (linear warm-up, cosine decay to a tenth).")]
    [DefaultValue(1e-3)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>EMA decay.</summary>
    [CommandOption("--ema <DECAY>")]
    [Description("Decay of the weights' moving average (the exported weights).")]
    [DefaultValue(0.995)]
    public double Ema { get; init; } = 0.995;

    /// <summary>Caption dropout.</summary>
    [CommandOption("--caption-dropout <P>")]
    [Description("Fraction of captions replaced by the empty prompt (classifier-free guidance).")]
    [DefaultValue(0.1)]
    public double CaptionDropout { get; init; } = 0.1;

    /// <summary>Noise schedule.</summary>
    [CommandOption("--beta-schedule <NAME>")]
    [Description("Training noise schedule: linear (DDPM) or squaredcos_cap_v2 (cosine).")]
    [DefaultValue("linear")]
    public string BetaSchedule { get; init; } = "linear";

    /// <summary>Cap of the low-SNR loss weight.</summary>
    [CommandOption("--snr-weight-cap <W>")]
    [Description("Weight each sample's epsilon MSE by clamp(1/SNR(t), 1, W); 1 is the plain epsilon MSE.")]
    [DefaultValue(20.0)]
    public double SnrWeightCap { get; init; } = 20.0;

    /// <summary>Checkpoint interval.</summary>
    [CommandOption("--checkpoint-every <N>")]
    [Description("Steps between checkpoints.")]
    [DefaultValue(200)]
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>Resume from the state folder.</summary>
    [CommandOption("--resume")]
    [Description("Continue from the state folder's checkpoint (same seed and batch).")]
    public bool Resume { get; init; }

    /// <summary>Time limit in minutes.</summary>
    [CommandOption("--time-limit <MINUTES>")]
    [Description("Stop with a checkpoint after this many minutes.")]
    public double? TimeLimitMinutes { get; init; }

    /// <summary>Plain-text log interval when the output is not a terminal.</summary>
    [CommandOption("--log-every <N>")]
    [Description("Steps between log lines when the output is redirected.")]
    [DefaultValue(25)]
    public int LogEvery { get; init; } = 25;

    /// <summary>The state folder used.</summary>
    public string StateFolder => State ?? Path.GetFullPath(Output).TrimEnd(Path.DirectorySeparatorChar) + ".state";

    /// <summary>The tokenizer folder used.</summary>
    public string TokenizerFolder => Tokenizer ?? EmbeddedModel.TokenizerFolder;

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (Steps < 1) yield return $"--steps must be >= 1; got {Steps}.";
        if (Batch < 1) yield return $"--batch must be >= 1; got {Batch}.";
        if (RangeProblem("--lr", LearningRate, 1e-7, 1) is { } lr) yield return lr;
        if (RangeProblem("--ema", Ema, 0, 1) is { } ema) yield return ema;
        if (RangeProblem("--caption-dropout", CaptionDropout, 0, 1) is { } dropout) yield return dropout;
        if (RangeProblem("--snr-weight-cap", SnrWeightCap, 1, 1e6) is { } cap) yield return cap;
        if (BetaSchedule is not ("linear" or "squaredcos_cap_v2")) yield return $"--beta-schedule must be linear or squaredcos_cap_v2; got '{BetaSchedule}'.";
        if (CheckpointEvery < 1) yield return $"--checkpoint-every must be >= 1; got {CheckpointEvery}.";
        if (LogEvery < 1) yield return $"--log-every must be >= 1; got {LogEvery}.";
        if (TimeLimitMinutes is { } minutes && !(minutes > 0 && double.IsFinite(minutes))) yield return $"--time-limit must be a positive number of minutes; got {minutes}.";
        if (FolderProblem("--tokenizer", TokenizerFolder) is { } tokenizer) yield return tokenizer;
        else
        {
            foreach (var file in ModelFolderWriter.TokenizerFiles)
                if (!File.Exists(Path.Combine(TokenizerFolder, file)))
                    yield return $"--tokenizer '{TokenizerFolder}' lacks {file}.";
        }
        if (File.Exists(Output)) yield return $"--output '{Output}' is a file; give a folder.";
        if (File.Exists(StateFolder)) yield return $"--state '{StateFolder}' is a file; give a folder.";
        if (Resume) foreach (var problem in ResumeProblems()) yield return problem;
    }

    private IEnumerable<string> ResumeProblems()
    {
        CheckpointProgress? checkpoint;
        string? unreadable = null;
        try
        {
            checkpoint = Pretrainer.ReadCheckpoint(StateFolder);
        }
        catch (InvalidDataException e)
        {
            checkpoint = null;
            unreadable = e.Message;
        }
        if (unreadable is not null)
        {
            yield return $"--resume: {unreadable}";
            yield break;
        }
        if (checkpoint is null)
        {
            yield return $"--resume: the state folder '{StateFolder}' holds no checkpoint (progress.json).";
            yield break;
        }
        var seed = Seed ?? EmbeddedModel.PretrainSeed;
        if (checkpoint.Seed != seed || checkpoint.BatchSize != Batch)
            yield return $"--resume: the checkpoint in '{StateFolder}' was made with --seed {checkpoint.Seed} --batch {checkpoint.BatchSize}; this run asks for --seed {seed} --batch {Batch}. Use the same values or another --state folder.";
    }
}

/// <summary>
/// <c>pretrain</c>: trains the tiny pixel-space text-to-image model on the procedurally drawn
/// captioned shapes and writes a diffusers folder (the embedded model is this command's output with
/// the default settings).
/// </summary>
public sealed class PretrainCommand(IAnsiConsole console) : Command<PretrainSettings>
{
    /// <inheritdoc />
    public override int Execute(CommandContext context, PretrainSettings settings, CancellationToken cancellationToken)
    {
        var device = TorchSetup.Apply(settings, console);
        var options = new PretrainOptions
        {
            OutputFolder = settings.Output,
            StateFolder = settings.StateFolder,
            TokenizerFolder = settings.TokenizerFolder,
            Seed = settings.Seed ?? EmbeddedModel.PretrainSeed,
            Steps = settings.Steps,
            BatchSize = settings.Batch,
            LearningRate = settings.LearningRate,
            EmaDecay = settings.Ema,
            CaptionDropout = settings.CaptionDropout,
            SnrWeightCap = settings.SnrWeightCap,
            Design = new TinyModelDesign { BetaSchedule = settings.BetaSchedule },
            CheckpointEvery = settings.CheckpointEvery,
            Resume = settings.Resume,
            TimeLimit = settings.TimeLimitMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
        };
        console.MarkupLine(CultureInfo.InvariantCulture,
            "[bold]pretrain[/] seed {0}, {1} steps x {2} images, lr {3}, {4} thread(s) on {5} -> [blue]{6}[/]",
            options.Seed, options.Steps, options.BatchSize, options.LearningRate, settings.EffectiveThreads, settings.Device, Markup.Escape(Path.GetFullPath(options.OutputFolder)));

        var trainer = new Pretrainer();
        PretrainResult result;
        if (console.Profile.Capabilities.Interactive)
        {
            result = console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("pretrain", maxValue: options.Steps);
                    var reporter = new InlineProgress<PretrainProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.TotalSteps} loss {p.AverageLoss:F4} lr {p.LearningRate:G3}");
                    });
                    return trainer.Run(options, device, reporter, cancellationToken);
                });
        }
        else
        {
            var reporter = new InlineProgress<PretrainProgress>(p =>
            {
                if (p.Step % settings.LogEvery == 0 || p.CheckpointWritten || p.Step == p.TotalSteps)
                    console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} avg50 {p.AverageLoss:F4} lr {p.LearningRate:G3} elapsed {p.Elapsed:hh\\:mm\\:ss}{(p.CheckpointWritten ? " [checkpoint]" : "")}"));
            });
            result = trainer.Run(options, device, reporter, cancellationToken);
        }

        console.MarkupLine(CultureInfo.InvariantCulture, "{0} after {1} steps in {2:hh\\:mm\\:ss}; final loss {3:F4}; model in [blue]{4}[/]",
            result.Completed ? "[green]done[/]" : "[yellow]stopped[/]", result.StepsDone, result.Elapsed, result.FinalAverageLoss, Markup.Escape(result.OutputFolder));
        if (!result.Completed && cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine("A checkpoint was written; continue with [bold]--resume[/].");
            return ExitCodes.Cancelled;
        }
        return ExitCodes.Success;
    }
}
