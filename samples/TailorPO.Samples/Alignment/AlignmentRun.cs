using TailorPO.Shapes.Evaluation;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Diffusion.Preferences;
using TailorPO.Guidance.Options;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Evaluation;
using TailorPO.Samples.Imaging;
using TailorPO.Training;
using TailorPO.Training.Evaluation;
using TailorPO.Training.Guarding;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using TailorPO.Training.Pairs;
using TailorPO.Training.Prompts;
using static TorchSharp.torch;

namespace TailorPO.Samples.Alignment;

/// <summary>What an alignment run produced.</summary>
/// <param name="Report">The trainer's report.</param>
/// <param name="Evaluation">Base vs aligned reward on held-out prompts and seeds.</param>
/// <param name="Folder">The run folder.</param>
/// <param name="Grade">The GenEval-style grade of base vs aligned (the embedded model only; null otherwise).</param>
public sealed record AlignmentResult(TrainingReport Report, EvaluationReport Evaluation, string Folder, AttributeGradeReport? Grade = null);

/// <summary>
/// One <c>align</c> run: the library's parts wired through DI exactly as a host application would (AddTailorPODiffusion,
/// AddTailorPOCore, AddTailorPORewards, AddTailorPOGuidance, AddTailorPOTraining), then training, evaluation on held-out
/// prompts and seeds, and the run folder: options.json, metrics.csv/.jsonl, reward-curve.png, training-signals.png,
/// before.png/after.png, lora.safetensors, checkpoint/ and summary.md; with the reward-hacking guard on, also
/// gold-metric.csv and proxy-vs-gold.png.
/// </summary>
public static class AlignmentRun
{
    /// <summary>The method names of the CLI.</summary>
    public static readonly IReadOnlyList<string> Methods = TrainingMethods.BuiltIn;

    /// <summary>The layouts of lora.safetensors by CLI name: peft (diffusers, PEFT) or kohya (A1111, ComfyUI, kohya-ss).</summary>
    public static readonly IReadOnlyDictionary<string, LoraFileFormat> LoraFormats =
        new Dictionary<string, LoraFileFormat>(StringComparer.Ordinal) { ["peft"] = LoraFileFormat.Peft, ["kohya"] = LoraFileFormat.Kohya };

    /// <summary>The library method of a CLI name (the CLI uses the library's registered names).</summary>
    public static string ParseMethod(string name) => Methods.Contains(name, StringComparer.Ordinal)
        ? name
        : throw new ArgumentOutOfRangeException(nameof(name), name, $"--method must be one of {string.Join(", ", Methods)}.");

    /// <summary>The pairing names of a plan.</summary>
    public static TailorPOPairing ParsePairing(string name) => name switch
    {
        "same-input" => TailorPOPairing.SameInput,
        "different-inputs" => TailorPOPairing.DifferentInputs,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "The pairing must be same-input or different-inputs."),
    };

    /// <summary>How often a run writes its checkpoint (besides at the end and when stopped).</summary>
    public const int CheckpointEveryIterations = 10;

    /// <summary>The metrics files of a run folder, appended to by every update.</summary>
    public static readonly IReadOnlyList<string> MetricsFiles = ["metrics.csv", "metrics.jsonl"];

    /// <summary>
    /// True when <paramref name="folder"/> holds a run that stopped before its first checkpoint (its options.json but
    /// no checkpoint/, after recovering an interrupted checkpoint swap): nothing of it can be continued.
    /// </summary>
    public static bool StoppedBeforeFirstCheckpoint(string folder) =>
        File.Exists(Path.Combine(folder, AlignmentPlan.FileName))
        && !Training.Checkpoints.TrainingCheckpoint.Recover(Path.Combine(folder, PreferenceTrainer.CheckpointFolderName));

    /// <summary>Trains (or resumes) the plan into <paramref name="folder"/>, evaluates and writes every output.</summary>
    /// <exception cref="BadInputException">The options do not fit the model (reported before any training).</exception>
    public static async Task<AlignmentResult> RunAsync(AlignmentPlan plan, string folder, bool resume, IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory.CreateDirectory(folder);
        var clock = Stopwatch.StartNew();
        await using var provider = StartProvider(plan, folder, resume);

        var pipeline = provider.GetRequiredService<StableDiffusionPipeline>();
        var adapter = provider.GetRequiredService<LoraAdapter>();
        var report = await TrainAndSave(provider, plan, folder, resume, console, cancellationToken).ConfigureAwait(false);
        var evaluation = Evaluate(provider, plan, console, cancellationToken);
        var grade = plan.EmbeddedModel ? Grade(provider, plan, folder, console, cancellationToken) : null;
        WriteGrids(pipeline, adapter, plan, folder, cancellationToken);
        WriteSummary(plan, report, evaluation, grade, folder, clock.Elapsed);
        return new AlignmentResult(report, evaluation, folder, grade);
    }

    /// <summary>
    /// Trains (or resumes) the plan into <paramref name="folder"/> and writes options.json, metrics, checkpoint/,
    /// lora.safetensors and the two training plots - no evaluation, grids or summary (the <c>compare</c> command
    /// evaluates many runs on one shared image set itself).
    /// </summary>
    /// <exception cref="BadInputException">The options do not fit the model (reported before any training).</exception>
    public static async Task<TrainingReport> TrainAsync(AlignmentPlan plan, string folder, bool resume, IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory.CreateDirectory(folder);
        await using var provider = StartProvider(plan, folder, resume);
        return await TrainAndSave(provider, plan, folder, resume, console, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the run's container, validates every option at once and saves a new run's plan.</summary>
    private static ServiceProvider StartProvider(AlignmentPlan plan, string folder, bool resume)
    {
        var provider = Services(plan, folder).BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (OptionsValidationException ex)
        {
            provider.Dispose();
            throw new BadInputException("The run's options do not fit: " + string.Join(" ", ex.Failures));
        }
        if (!resume)
        {
            // A new run in a folder whose run stopped before its first checkpoint: its rows would precede this run's.
            foreach (var file in MetricsFiles.Append(CsvGoldMetricSink.DefaultFileName)) File.Delete(Path.Combine(folder, file));
            plan.Save(folder);
        }
        return provider;
    }

    private static async Task<TrainingReport> TrainAndSave(IServiceProvider provider, AlignmentPlan plan, string folder, bool resume, IAnsiConsole console,
        CancellationToken cancellationToken)
    {
        var adapter = provider.GetRequiredService<LoraAdapter>();
        PromptLengthWarning.Warn(console, provider.GetRequiredService<StableDiffusionPipeline>().Tokenizer,
            AlignmentPrompts.Training(plan.EmbeddedModel, plan.PromptFile));
        var checkpoint = Path.Combine(folder, PreferenceTrainer.CheckpointFolderName);
        TrainingReport report;
        using (var trainer = provider.GetRequiredService<PreferenceTrainer>())
        {
            if (resume)
            {
                trainer.ResumeFrom(checkpoint);
                console.MarkupLine(CultureInfo.InvariantCulture, "Resumed from [blue]{0}[/] at {1} of {2} images.",
                    Markup.Escape(checkpoint), trainer.Context.Samples, plan.Budget);
            }
            report = await Train(trainer, plan, console, cancellationToken).ConfigureAwait(false);
        }
        adapter.Save(Path.Combine(folder, "lora.safetensors"), LoraFormats[plan.LoraFormat]);
        var rows = TrainingPlots.Read(Path.Combine(folder, "metrics.csv"));
        TrainingPlots.RewardCurve(rows, plan.Reward, Path.Combine(folder, TrainingPlots.RewardCurveFile));
        TrainingPlots.TrainingSignals(rows, Path.Combine(folder, TrainingPlots.SignalsFile));
        var gold = Path.Combine(folder, CsvGoldMetricSink.DefaultFileName);
        if (plan.GuardEvery > 0 && File.Exists(gold))
            TrainingPlots.ProxyVsGold(TrainingPlots.ReadGoldMetric(gold), plan.Reward, Path.Combine(folder, TrainingPlots.ProxyVsGoldFile));
        return report;
    }

    /// <summary>The container of a run (public so tests can check the wiring).</summary>
    public static ServiceCollection Services(AlignmentPlan plan, string folder)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var method = ParseMethod(plan.Method);
        var services = new ServiceCollection();
        services.AddTailorPODiffusion(o =>
        {
            o.ModelFolder = plan.ModelFolder;
            o.Device = plan.Device;
            o.DType = ParseDType(plan.DType);
            o.Lora = new LoraConfig { Rank = plan.LoraRank };
        });
        services.AddTailorPOCore(o =>
        {
            o.Sampling.InferenceSteps = plan.Steps;
            o.Sampling.Eta = plan.Eta;
            o.Sampling.GuidanceScale = plan.GuidanceScale;
            o.Finetune.TrainedSteps = plan.TrainedSteps;
            o.Loss.Beta = plan.Beta;
        });
        services.AddTailorPORewards(o => RewardChoice.Configure(o, plan.Reward, plan.ClipModel, plan.AestheticHead, plan.ClipModel));
        services.AddTailorPORewardModels(); // the learned kinds (aesthetic, clip-score, hpsv2, imagereward)
        services.AddTailorPOGuidance(o =>
        {
            o.Enabled = method == TrainingMethods.TailorPOGuided;
            if (plan.GuidanceEta is { } eta) (o.Schedule, o.ConstantEta) = (GuidanceScheduleKind.Constant, eta);
        });
        services.AddTailorPOTraining(o =>
            {
                o.Method = method;
                o.SampleBudget = plan.Budget;
                o.BatchSize = plan.Batch;
                o.LearningRate = plan.LearningRate;
                o.Candidates = plan.Candidates;
                o.Seed = plan.Seed;
                o.CheckpointDirectory = folder;
                o.CheckpointEveryIterations = CheckpointEveryIterations;
                o.Pairing = ParsePairing(plan.Pairing);
                if (plan.DiffusionDpoGeneratedPairs is { } pairs) o.DiffusionDpoGeneratedPairs = pairs;
                o.GoldMetricGuard.EveryImages = plan.GuardEvery;
                o.GoldMetricGuard.Patience = plan.GuardPatience;
                o.GoldMetricGuard.Tolerance = SceneGoldMetric.Tolerance;
            })
            .Configure<StableDiffusionPipeline>((o, pipeline) =>
            {
                var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
                o.LatentShape = [pipeline.Unet.Config.InChannels, size, size];
            });
        services.AddSingleton<IPromptSource>(new InMemoryPromptSource(AlignmentPrompts.Training(plan.EmbeddedModel, plan.PromptFile)));
        if (plan.PairsFile is { } pairs)
            services.AddSingleton<IPreferencePairSource>(sp => CsvPreferencePairSource.FromCsv(pairs, sp.GetRequiredService<StableDiffusionPipeline>()));
        // D3PO's human-feedback mode: a registered labelled set replaces its sampled, reward-ranked trajectories.
        if (plan.HumanLabels is { } labels)
            services.AddSingleton<ILabelledTrajectorySource>(_ => StoredTrajectoryPairs.Open(labels));
        if (plan.GuardEvery > 0)
        {
            // The reward-hacking guard: the exact SceneMeasurer grades held-out captions with the current adapters.
            services.AddSingleton<IGoldMetric>(sp => new SceneGoldMetric(sp.GetRequiredService<StableDiffusionPipeline>(), sp.GetRequiredService<IRewardModel>(),
                sp.GetRequiredService<LoraAdapter>(), plan.Steps, plan.GuidanceScale, plan.Eta));
            services.AddSingleton<IGoldMetricSink>(_ => new CsvGoldMetricSink(Path.Combine(folder, CsvGoldMetricSink.DefaultFileName)));
        }
        services.AddSingleton<ITrainingMetricsSink>(_ => new CsvMetricsSink(Path.Combine(folder, MetricsFiles[0])));
        services.AddSingleton<ITrainingMetricsSink>(_ => new JsonLinesMetricsSink(Path.Combine(folder, MetricsFiles[1])));
        return services;
    }

    private static async Task<TrainingReport> Train(PreferenceTrainer trainer, AlignmentPlan plan, IAnsiConsole console, CancellationToken cancellationToken)
    {
        TrainingReport? report = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"{plan.Method} on {plan.Reward}", maxValue: plan.Budget);
                task.Value = trainer.Context.Samples;
                var progress = new InlineProgress<TrainingProgress>(p =>
                {
                    task.Value = Math.Min(p.Samples, plan.Budget);
                    var m = p.Latest;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"{plan.Method} on {plan.Reward}: loss {m.Loss:F4}  acc {m.ImplicitAccuracy:F2}  r+ {m.PreferredReward:G4}  r- {m.DispreferredReward:G4}");
                });
                report = await trainer.TrainAsync(progress, cancellationToken).ConfigureAwait(false);
                task.Value = plan.Budget;
            }).ConfigureAwait(false);
        return report!;
    }

    private static EvaluationReport Evaluate(IServiceProvider provider, AlignmentPlan plan, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var options = provider.GetRequiredService<IOptions<TailorPOTrainingOptions>>().Value;
        var prompts = AlignmentPrompts.Evaluation(plan.EmbeddedModel);
        var seeds = Enumerable.Range(0, plan.EvaluationSeeds).Select(i => 100_000L + i).ToArray();
        EvaluationReport? evaluation = null;
        console.Status().Start("Evaluating base and aligned model on held-out prompts and seeds...", _ =>
            evaluation = provider.GetRequiredService<RewardEvaluator>().Evaluate(prompts, seeds, options.LatentShape!, plan.GuidanceScale, cancellationToken));
        return evaluation!;
    }

    /// <summary>The grade's settings for a plan: its captions and seeds, sampled as the plan samples.</summary>
    public static AttributeGradeOptions GradeOptions(AlignmentPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new AttributeGradeOptions
        {
            Captions = plan.GradeCaptions, SeedsPerCaption = plan.GradeSeeds, Steps = plan.Steps, GuidanceScale = plan.GuidanceScale, Eta = plan.Eta,
        };
    }

    private static AttributeGradeReport Grade(IServiceProvider provider, AlignmentPlan plan, string folder, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var monitors = new List<GradeMonitor> { new($"training reward ({plan.Reward})", provider.GetRequiredService<IRewardModel>()) };
        // The learned proxy is watched even when it is not trained on (a JPEG run shows what it does to preference).
        using var preference = plan.Reward == "preference" ? null : RewardChoice.Build("preference").Owner;
        if (preference is not null) monitors.Add(new GradeMonitor("preference model score", preference.GetRequiredService<IRewardModel>()));
        monitors.AddRange(GradeMonitor.OffTarget());
        AttributeGradeReport? grade = null;
        console.Status().Start("Grading base and aligned model (held-out captions x seeds)...", status =>
            grade = AttributeGrader.Grade(provider.GetRequiredService<StableDiffusionPipeline>(), provider.GetRequiredService<LoraAdapter>(),
                GradeOptions(plan), monitors,
                (done, total) => status.Status(string.Create(CultureInfo.InvariantCulture, $"Grading base and aligned model: {done} of {total} images...")),
                cancellationToken));
        AttributeAccuracyChart.Save(grade!, Path.Combine(folder, AttributeAccuracyChart.FileName));
        return grade!;
    }

    private static void WriteGrids(StableDiffusionPipeline pipeline, LoraAdapter adapter, AlignmentPlan plan, string folder, CancellationToken cancellationToken)
    {
        var prompts = AlignmentPrompts.Evaluation(plan.EmbeddedModel).Take(4).ToList();
        const int seeds = 4;
        Tensor Images()
        {
            var columns = new List<Tensor>();
            for (var k = 0; k < seeds; k++)
            {
                using var result = pipeline.Generate(new TextToImageRequest
                {
                    Prompts = prompts, Steps = plan.Steps, GuidanceScale = plan.GuidanceScale, Eta = plan.Eta, Seed = 100_000 + k,
                }, progress: null, cancellationToken);
                columns.Add(result.Images.clone());
            }
            return stack(columns, 1).flatten(0, 1);
        }
        // Room for the whole caption and its seed: a grid whose captions end mid-word cannot be checked against the image.
        const int captionLines = 5;
        var captions = prompts.SelectMany(p => Enumerable.Range(0, seeds).Select(k => (string?)$"{p}, seed {100_000 + k}")).ToList();
        var scale = Math.Max(1, 128 / pipeline.DefaultImageSize);
        using var scope = NewDisposeScope();
        using (adapter.Disable())
            CaptionedGrid.Save(Path.Combine(folder, "before.png"), Images(), captions, seeds, scale, captionLines);
        CaptionedGrid.Save(Path.Combine(folder, "after.png"), Images(), captions, seeds, scale, captionLines);
    }

    private static void WriteSummary(AlignmentPlan plan, TrainingReport report, EvaluationReport evaluation, AttributeGradeReport? grade, string folder, TimeSpan elapsed)
    {
        var (baseMean, baseStd) = evaluation.ReferenceSummary;
        var (alignedMean, alignedStd) = evaluation.PolicySummary;
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"# {plan.Method} on {plan.Reward}");
        text.AppendLine();
        text.AppendLine(c, $"Model `{plan.ModelFolder}`{(plan.EmbeddedModel ? " (the embedded tiny model)" : "")}; seed {plan.Seed}; budget {plan.Budget} images; batch {plan.Batch}; lr {plan.LearningRate}; LoRA rank {plan.LoraRank}; {plan.Steps} DDIM steps, eta {plan.Eta}, CFG {plan.GuidanceScale}, T_finetune {plan.TrainedSteps}, beta {plan.Beta}.");
        text.AppendLine();
        text.AppendLine("| | mean reward | std over images |");
        text.AppendLine("| --- | --- | --- |");
        text.AppendLine(c, $"| base model | {baseMean:G5} | {baseStd:G4} |");
        text.AppendLine(c, $"| aligned (LoRA) | {alignedMean:G5} | {alignedStd:G4} |");
        text.AppendLine();
        text.AppendLine(c, $"Improvement {alignedMean - baseMean:G4} (seed-to-seed standard error {evaluation.ImprovementStandardError:G3}) on {evaluation.Prompts.Count} held-out prompts x {evaluation.Seeds.Count} held-out seeds.");
        text.AppendLine();
        text.AppendLine(c, $"Training: {report.Samples} images, {report.Updates} updates ({report.SkippedUpdates} skipped), {report.NoiseEvaluations} model evaluations ({report.NoiseEvaluationsPerSample:F1} per image), {report.Elapsed.TotalMinutes:F1} min; whole run {elapsed.TotalMinutes:F1} min.");
        text.AppendLine();
        text.AppendLine("| held-out prompt | base | aligned |");
        text.AppendLine("| --- | --- | --- |");
        foreach (var (prompt, reference, policy) in evaluation.PerPrompt)
            text.AppendLine(c, $"| {prompt} | {reference:G5} | {policy:G5} |");
        text.AppendLine();
        if (grade is not null)
        {
            text.AppendLine("## Grade (held-out captions, exact measurer)");
            text.AppendLine();
            text.Append(grade.ToMarkdown());
            text.AppendLine();
            text.AppendLine(c, $"Chart: `{AttributeAccuracyChart.FileName}`.");
            text.AppendLine();
        }
        if (report.GoldMetricGuard is { } guard)
        {
            text.AppendLine("## Reward-hacking guard");
            text.AppendLine();
            text.AppendLine(c, $"Gold metric `{guard.Metric}`: the fraction of {SceneGoldMetric.DefaultImages} held-out images (captions training never shows, fixed seeds) with all four attributes right by the exact SceneMeasurer; proxy: the training reward's mean on the same images. Read every {plan.GuardEvery} images, patience {plan.GuardPatience}.");
            text.AppendLine();
            text.AppendLine(c, $"{guard.Evaluations} readings; best gold {guard.BestGold:G4} at {guard.BestImages} images; last gold {guard.LastGold:G4}. {(guard.StoppedEarly ? $"Stopped early: {guard.StopReason}." : "Not stopped early.")} {(guard.RestoredBest ? $"The adapters were restored to the best ones ({guard.BestImages} images)." : "The final adapters were kept.")}");
            text.AppendLine();
            text.AppendLine("| images | proxy | gold (s.e.) | log-ratio margin | log-ratio drift | event |");
            text.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var e in guard.History)
                text.AppendLine(c, $"| {e.Images} | {e.Proxy:G4} | {e.Gold:G3} ({e.GoldStandardError:G2}) | {e.LogRatioMargin:G3} | {e.LogRatioDrift:G3} | {CsvGoldMetricSink.EventName(e.Event)} |");
            text.AppendLine();
            text.AppendLine("`gold-metric.csv` holds these rows; `proxy-vs-gold.png` plots proxy and gold against images with the best point and the stop marked.");
            text.AppendLine();
        }
        text.AppendLine(c, $"Files: `options.json`, `metrics.csv`, `metrics.jsonl`, `reward-curve.png`, `training-signals.png`, `before.png`, `after.png`, `lora.safetensors` ({(plan.LoraFormat == "kohya" ? "kohya-ss layout, for A1111 and ComfyUI" : "PEFT / diffusers layout")}), `checkpoint/` (resume with `--resume`){(report.GoldMetricGuard is null ? "" : ", `gold-metric.csv`, `proxy-vs-gold.png`")}{(grade is null ? "" : $", `{AttributeAccuracyChart.FileName}`")}.");
        File.WriteAllText(Path.Combine(folder, "summary.md"), text.ToString());
    }

    private static ScalarType ParseDType(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "--dtype must be float32, float16 or bfloat16."),
    };
}
