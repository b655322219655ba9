using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Guidance.Options;
using TailorPO.Reproduction.Measuring;
using TailorPO.Rewards.Options;
using TailorPO.Shapes;
using TailorPO.Training;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
using TailorPO.Training.Prompts;

namespace TailorPO.Reproduction.Runs;

/// <summary>
/// Trains one <see cref="ComparisonRun"/> up to an image count through the library's public path (AddTailorPODiffusion,
/// AddTailorPOCore, AddTailorPORewards, AddTailorPOGuidance, AddTailorPOTraining, <see cref="PreferenceTrainer"/>),
/// resuming from the run folder's checkpoint, and saves lora.safetensors and metrics.csv there.
/// </summary>
public static class RunTraining
{
    /// <summary>The CFG scale of every run and analysis: the embedded model's (the paper's 5 saturates its colours before training).</summary>
    public const double GuidanceScale = 3.0;

    /// <summary>The learning rate of the embedded model's <c>align</c> default, the middle of the sweep's grid.</summary>
    public const double DefaultLearningRate = 2e-3;

    /// <summary>Key prefix of UNet adapters in PEFT/diffusers LoRA files.</summary>
    public const string LoraKeyPrefix = "unet.";

    /// <summary>How often a run writes its checkpoint (besides at the end and when stopped).</summary>
    public const int CheckpointEveryIterations = 10;

    /// <summary>The rewards a run can train on, by name.</summary>
    public static readonly IReadOnlyList<string> Rewards = ["jpeg-compressibility", "colorfulness", "saturation", "brightness", "ensemble", "preference"];

    /// <summary>Registers the reward <paramref name="name"/> (the names of the samples CLI's <c>--reward</c>).</summary>
    public static void ConfigureReward(TailorPORewardsOptions options, string name)
    {
        ArgumentNullException.ThrowIfNull(options);
        switch (name)
        {
            case "preference":
                // The embedded preference model, a transformers CLIPModel folder scored as PickScore would be (align's default reward).
                options.Add(RewardKind.ClipScore, configure: m => (m.ModelPath, m.TokenizerPath) =
                    (Path.GetFullPath(EmbeddedPreferenceModel.Folder), Path.GetFullPath(EmbeddedPreferenceModel.TokenizerFolder)));
                break;
            case "jpeg-compressibility": options.Add(RewardKind.JpegCompressibility); break;
            case "colorfulness": options.Add(RewardKind.Colorfulness); break;
            case "saturation": options.Add(RewardKind.Saturation); break;
            case "brightness": options.Add(RewardKind.BrightnessTarget, configure: m => m.BrightnessTarget = 1.0); break;
            case "ensemble":
                // Each member z-scored by running statistics, so neither dominates by its units.
                options.Add(RewardKind.JpegCompressibility, configure: m => m.Normalization = RewardNormalizationKind.Running);
                options.Add(RewardKind.Colorfulness, configure: m => m.Normalization = RewardNormalizationKind.Running);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, $"The harness trains on {string.Join(", ", Rewards)}; got '{name}'.");
        }
    }

    /// <summary>Trains (or resumes) <paramref name="run"/> into <paramref name="folder"/> until it has generated <paramref name="images"/> images.</summary>
    public static async Task<TrainingReport> TrainAsync(ComparisonRun run, ComparisonSizing sizing, int images, string folder,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(sizing);
        Directory.CreateDirectory(folder);
        var checkpoint = Path.Combine(folder, PreferenceTrainer.CheckpointFolderName);
        var resume = Training.Checkpoints.TrainingCheckpoint.Recover(checkpoint);
        if (!resume) File.Delete(Path.Combine(folder, MetricsFile));
        await using var provider = Services(run, sizing, images, folder).BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        TrainingReport report;
        using (var trainer = provider.GetRequiredService<PreferenceTrainer>())
        {
            if (resume) trainer.ResumeFrom(checkpoint);
            report = await trainer.TrainAsync(progress: null, cancellationToken).ConfigureAwait(false);
        }
        provider.GetRequiredService<LoraAdapter>().Save(Path.Combine(folder, LoraFile), LoraFileFormat.Peft);
        return report;
    }

    /// <summary>The adapter file of a run folder (the latest evaluation point's).</summary>
    public const string LoraFile = "lora.safetensors";

    /// <summary>
    /// The copy of the adapter kept for the evaluation point at <paramref name="images"/> images, so an analysis can grade
    /// a run at any of its points after the run has trained on (lora.safetensors is overwritten by every point).
    /// </summary>
    public static string StageLoraFile(long images) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"lora-{images}.safetensors");

    /// <summary>The per-update metrics file of a run folder.</summary>
    public const string MetricsFile = "metrics.csv";

    /// <summary>The mean of metrics.csv's clip_fraction over every logged update of the run folder (NaN without one).</summary>
    public static double MeanClipFraction(string folder)
    {
        var path = Path.Combine(folder, MetricsFile);
        if (!File.Exists(path)) return double.NaN;
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2) return double.NaN;
        var column = Array.IndexOf(lines[0].Split(','), "clip_fraction");
        if (column < 0) return double.NaN;
        var values = lines.Skip(1).Where(l => l.Length > 0)
            .Select(l => double.Parse(l.Split(',')[column], System.Globalization.CultureInfo.InvariantCulture)).Where(double.IsFinite).ToList();
        return values.Count == 0 ? double.NaN : values.Average();
    }

    private static ServiceCollection Services(ComparisonRun run, ComparisonSizing sizing, int images, string folder)
    {
        var services = new ServiceCollection();
        services.AddTailorPODiffusion(o =>
        {
            o.ModelFolder = Path.GetFullPath(EmbeddedModel.Folder);
            o.Device = "cpu";
            o.Lora = new LoraConfig { Rank = 4 };
        });
        services.AddTailorPOCore(o =>
        {
            o.Sampling.InferenceSteps = sizing.Steps;
            o.Sampling.Eta = 1.0;
            o.Sampling.GuidanceScale = GuidanceScale;
            o.Finetune.TrainedSteps = run.TrainedSteps;
            o.Loss.Beta = 0.1;
        });
        services.AddTailorPORewards(o => ConfigureReward(o, run.Reward));
        services.AddTailorPORewardModels();
        services.AddTailorPOGuidance(o =>
        {
            o.Enabled = run.Method == TrainingMethods.TailorPOGuided;
            if (run.GuidanceEta is { } eta) (o.Schedule, o.ConstantEta) = (GuidanceScheduleKind.Constant, eta);
        });
        services.AddTailorPOTraining(o =>
            {
                o.Method = run.Method;
                o.SampleBudget = images;
                o.BatchSize = sizing.Batch;
                o.LearningRate = run.LearningRate;
                o.Candidates = 2;
                o.Seed = run.Seed;
                o.CheckpointDirectory = folder;
                o.CheckpointEveryIterations = CheckpointEveryIterations;
                o.Pairing = run.Pairing == "different-inputs" ? TailorPOPairing.DifferentInputs : TailorPOPairing.SameInput;
                // The offline set holds as many images as the equal-images budget, as pairs, whatever the run's length.
                if (run.Method == TrainingMethods.DiffusionDpo) o.DiffusionDpoGeneratedPairs = Math.Max(1, sizing.Budget / 2);
            })
            .Configure<StableDiffusionPipeline>((o, pipeline) =>
            {
                var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
                o.LatentShape = [pipeline.Unet.Config.InChannels, size, size];
            });
        services.AddSingleton<IPromptSource>(new InMemoryPromptSource(EvaluationPrompts.Training));
        services.AddSingleton<ITrainingMetricsSink>(_ => new CsvMetricsSink(Path.Combine(folder, MetricsFile)));
        return services;
    }
}
