using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using TailorPO.Samples.Alignment;
using TailorPO.Samples.Cli;

namespace TailorPO.Samples.Commands;

/// <summary>Settings of <c>align</c>, the main job.</summary>
public sealed class AlignSettings : GlobalSettings
{
    /// <summary>The embedded model's default learning rate: its LoRA is tiny and the run short, so it steps larger than SD's 3e-5.</summary>
    public const double EmbeddedLearningRate = 1e-3;

    /// <summary>The paper's learning rate (SD v1.5).</summary>
    public const double PaperLearningRate = 3e-5;

    /// <summary>The default sample budget (finishes in minutes on 2 cores with the embedded model).</summary>
    public const int DefaultBudget = 240;

    /// <summary>The method.</summary>
    [CommandOption("--method <METHOD>")]
    [Description("tailorpo, tailorpo-g, d3po, ddpo or diffusion-dpo.")]
    [DefaultValue("tailorpo")]
    public string Method { get; init; } = "tailorpo";

    /// <summary>The reward.</summary>
    [CommandOption("--reward <REWARD>")]
    [Description("jpeg-compressibility, jpeg-incompressibility, colorfulness, brightness, saturation, aesthetic, clip-score or ensemble.")]
    [DefaultValue("jpeg-compressibility")]
    public string Reward { get; init; } = "jpeg-compressibility";

    /// <summary>The diffusers folder.</summary>
    [CommandOption("--model <FOLDER>")]
    [Description("A diffusers Stable Diffusion folder (e.g. SD v1.5). Default: the embedded tiny model.")]
    public string? Model { get; init; }

    /// <summary>Sample budget.</summary>
    [CommandOption("--budget <IMAGES>")]
    [Description("Generated images the run may use (the paper: 10000). Default: 240, minutes on 2 cores with the embedded model.")]
    public int? Budget { get; init; }

    /// <summary>Prompt file.</summary>
    [CommandOption("--prompts <FILE>")]
    [Description("Training prompts, one per line. Default: the embedded model's training captions, or animal prompts for --model.")]
    public string? Prompts { get; init; }

    /// <summary>Resume folder.</summary>
    [CommandOption("--resume <RUN_FOLDER>")]
    [Description("Continue an interrupted run from its folder (its options.json; --budget may extend it).")]
    public string? Resume { get; init; }

    /// <summary>Output folder.</summary>
    [CommandOption("-o|--output <FOLDER>")]
    [Description("The run folder. Default: runs/<method>-<reward>-seed<seed>.")]
    public string? Output { get; init; }

    /// <summary>Batch size.</summary>
    [CommandOption("--batch <N>")]
    [Description("Prompts per batch (the paper: 2).")]
    [DefaultValue(2)]
    public int Batch { get; init; } = 2;

    /// <summary>Learning rate.</summary>
    [CommandOption("--lr <RATE>")]
    [Description("AdamW learning rate. Default: 1e-3 for the embedded model, 3e-5 (the paper's) for --model.")]
    public double? LearningRate { get; init; }

    /// <summary>LoRA rank.</summary>
    [CommandOption("--rank <N>")]
    [Description("LoRA rank (the paper: 4).")]
    [DefaultValue(4)]
    public int Rank { get; init; } = 4;

    /// <summary>DDIM steps.</summary>
    [CommandOption("--steps <N>")]
    [Description("DDIM steps (the paper: 20).")]
    [DefaultValue(20)]
    public int Steps { get; init; } = 20;

    /// <summary>T_finetune.</summary>
    [CommandOption("--trained-steps <N>")]
    [Description("Trained steps per trajectory, T_finetune (the paper: 5).")]
    [DefaultValue(5)]
    public int TrainedSteps { get; init; } = 5;

    /// <summary>CFG.</summary>
    [CommandOption("--cfg <SCALE>")]
    [Description("Classifier-free guidance scale for sampling and training (the paper: 5).")]
    [DefaultValue(5.0)]
    public double GuidanceScale { get; init; } = 5.0;

    /// <summary>Eta.</summary>
    [CommandOption("--eta <ETA>")]
    [Description("DDIM eta in (0, 1]] (the paper: 1; log-probabilities need eta > 0).")]
    [DefaultValue(1.0)]
    public double Eta { get; init; } = 1.0;

    /// <summary>Beta.</summary>
    [CommandOption("--beta <BETA>")]
    [Description("DPO beta (the paper: 0.1; Diffusion-DPO uses its own beta_dpo of 5000).")]
    [DefaultValue(0.1)]
    public double Beta { get; init; } = 0.1;

    /// <summary>Candidates.</summary>
    [CommandOption("--candidates <K>")]
    [Description("TailorPO: candidates drawn from the same x_t (the paper: 2).")]
    [DefaultValue(2)]
    public int Candidates { get; init; } = 2;

    /// <summary>Evaluation seeds.</summary>
    [CommandOption("--eval-seeds <N>")]
    [Description("Held-out seeds per held-out prompt for the evaluation.")]
    [DefaultValue(8)]
    public int EvaluationSeeds { get; init; } = 8;

    /// <summary>Dtype.</summary>
    [CommandOption("--dtype <DTYPE>")]
    [Description("Model weights dtype: float32, float16 or bfloat16 (LoRA stays float32). float16 needs a GPU.")]
    [DefaultValue("float32")]
    public string DType { get; init; } = "float32";

    /// <summary>CLIP weights.</summary>
    [CommandOption("--clip-model <FOLDER>")]
    [Description("CLIP weights for --reward aesthetic (ViT-L/14) or clip-score (e.g. PickScore_v1).")]
    public string? ClipModel { get; init; }

    /// <summary>Aesthetic head.</summary>
    [CommandOption("--aesthetic-head <FILE>")]
    [Description("The LAION aesthetic MLP (safetensors) for --reward aesthetic.")]
    public string? AestheticHead { get; init; }

    /// <summary>The model folder used.</summary>
    public string ModelFolder => Model ?? EmbeddedModel.Folder;

    /// <summary>The run folder used.</summary>
    public string OutputFolder => Resume ?? Output ?? Path.Combine("runs", $"{Method}-{Reward}-seed{Seed ?? 0}");

    /// <inheritdoc />
    protected override IEnumerable<string> Problems()
    {
        if (Resume is not null)
        {
            if (!File.Exists(Path.Combine(Resume, Alignment.AlignmentPlan.FileName)))
                yield return $"--resume '{Resume}' is not an align run folder (no {Alignment.AlignmentPlan.FileName}).";
            else if (!Directory.Exists(Path.Combine(Resume, Training.PreferenceTrainer.CheckpointFolderName)))
                yield return $"--resume '{Resume}' has no checkpoint/ to resume from.";
            if (Budget is < 1) yield return $"--budget must be >= 1; got {Budget}.";
            yield break; // the run's own options apply
        }
        if (ModelFolderProblem(Model is null ? "the embedded model" : "--model", ModelFolder) is { } model) yield return model;
        if (!AlignmentRun.Methods.Contains(Method)) yield return $"--method must be one of {string.Join(", ", AlignmentRun.Methods)}; got '{Method}'.";
        foreach (var problem in RewardChoice.Problems(Reward, ClipModel, AestheticHead)) yield return problem;
        if (Method == "tailorpo-g" && RewardChoice.Names.Contains(Reward) && !RewardChoice.IsDifferentiable(Reward))
            yield return $"--method tailorpo-g needs a differentiable reward for its gradient guidance; '{Reward}' is not. Use tailorpo, or colorfulness, brightness, saturation, aesthetic or clip-score.";
        if (Budget is < 1) yield return $"--budget must be >= 1; got {Budget}.";
        if (FileProblem("--prompts", Prompts) is { } prompts) yield return prompts;
        if (Batch is < 1 or > 256) yield return $"--batch must lie in [1, 256]; got {Batch}.";
        if (LearningRate is { } lr && RangeProblem("--lr", lr, 1e-9, 1) is { } lrProblem) yield return lrProblem;
        if (Rank is < 1 or > 256) yield return $"--rank must lie in [1, 256]; got {Rank}.";
        if (Steps is < 1 or > 1000) yield return $"--steps must lie in [1, 1000]; got {Steps}.";
        if (TrainedSteps < 1 || TrainedSteps > Steps) yield return $"--trained-steps must lie in [1, --steps = {Steps}]; got {TrainedSteps}.";
        if (RangeProblem("--cfg", GuidanceScale, 1, 100) is { } cfg) yield return cfg;
        if (!(Eta > 0 && Eta <= 1)) yield return $"--eta must lie in (0, 1]: the methods need log-probabilities, which eta = 0 does not have; got {Eta}.";
        if (RangeProblem("--beta", Beta, 1e-6, 1e6) is { } beta) yield return beta;
        if (Candidates is < 2 or > 16) yield return $"--candidates must lie in [2, 16]; got {Candidates}.";
        if (EvaluationSeeds is < 2 or > 1000) yield return $"--eval-seeds must lie in [2, 1000] (the standard error needs two); got {EvaluationSeeds}.";
        if (DType is not ("float32" or "float16" or "bfloat16")) yield return $"--dtype must be float32, float16 or bfloat16; got '{DType}'.";
        if (Output is not null && File.Exists(Output)) yield return $"--output '{Output}' is a file; give a folder.";
        else if (Directory.Exists(OutputFolder) && Directory.EnumerateFileSystemEntries(OutputFolder).Any())
            yield return $"The run folder '{OutputFolder}' already holds a run: continue it with --resume {OutputFolder}, or choose another --output.";
    }

    /// <summary>The plan of a new run.</summary>
    public AlignmentPlan ToPlan() => new()
    {
        Method = Method,
        Reward = Reward,
        ModelFolder = Path.GetFullPath(ModelFolder),
        EmbeddedModel = Model is null,
        Budget = Budget ?? DefaultBudget,
        Seed = Seed ?? 0,
        Batch = Batch,
        LearningRate = LearningRate ?? (Model is null ? EmbeddedLearningRate : PaperLearningRate),
        LoraRank = Rank,
        Steps = Steps,
        TrainedSteps = TrainedSteps,
        GuidanceScale = GuidanceScale,
        Eta = Eta,
        Beta = Beta,
        Candidates = Candidates,
        Device = Device,
        DType = DType,
        PromptFile = Prompts is null ? null : Path.GetFullPath(Prompts),
        EvaluationSeeds = EvaluationSeeds,
        ClipModel = ClipModel,
        AestheticHead = AestheticHead,
        Threads = EffectiveThreads,
    };
}

/// <summary><c>align</c>: the main job - LoRA preference alignment of the embedded model (or --model) with one method and reward.</summary>
public sealed class AlignCommand(IAnsiConsole console) : AsyncCommand<AlignSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, AlignSettings settings, CancellationToken cancellationToken)
    {
        TorchSetup.Apply(settings);
        var folder = settings.OutputFolder;
        var plan = settings.Resume is null ? settings.ToPlan() : AlignmentPlan.Load(settings.Resume) with { };
        if (settings.Resume is not null && settings.Budget is { } budget) plan = plan with { Budget = budget };
        console.MarkupLine(CultureInfo.InvariantCulture, "[bold]{0}[/] on [bold]{1}[/]: {2} images, batch {3}, seed {4} -> [blue]{5}[/]",
            plan.Method, plan.Reward, plan.Budget, plan.Batch, plan.Seed, Markup.Escape(Path.GetFullPath(folder)));
        try
        {
            var result = await AlignmentRun.RunAsync(plan, folder, resume: settings.Resume is not null, console, cancellationToken).ConfigureAwait(false);
            var (baseMean, _) = result.Evaluation.ReferenceSummary;
            var (alignedMean, _) = result.Evaluation.PolicySummary;
            var table = new Table().AddColumns("", "mean reward (held-out prompts x seeds)");
            table.AddRow("base model", baseMean.ToString("G5", CultureInfo.InvariantCulture));
            table.AddRow("aligned (LoRA)", alignedMean.ToString("G5", CultureInfo.InvariantCulture));
            table.AddRow("improvement", string.Create(CultureInfo.InvariantCulture, $"{alignedMean - baseMean:G4} (s.e. {result.Evaluation.ImprovementStandardError:G3})"));
            console.Write(table);
            console.MarkupLine(CultureInfo.InvariantCulture, "Wrote [blue]{0}[/]: summary.md, before.png / after.png, reward-curve.png, lora.safetensors.",
                Markup.Escape(Path.GetFullPath(folder)));
            return ExitCodes.Success;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine(CultureInfo.InvariantCulture, "[yellow]Stopped.[/] The checkpoint in [blue]{0}[/] continues with: tailorpo align --resume {0}",
                Markup.Escape(folder));
            return ExitCodes.Cancelled;
        }
    }
}
