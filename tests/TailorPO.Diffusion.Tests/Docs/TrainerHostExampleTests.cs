// docs:begin usings
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Rewards.Options;
using TailorPO.Training;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;
// docs:end usings
using TailorPO.Diffusion.Tests.Pipelines;
using TailorPO.Training.Checkpoints;
using TailorPO.TestUtilities;

namespace TailorPO.Diffusion.Tests.Docs;

// The host program of docs/training.md: the region between "docs:begin host" and "docs:end host" is quoted there
// verbatim (Doc_quotes_the_compiled_host checks it) and runs here on the fixture pipeline with a tiny budget.
public sealed class TrainerHostExampleTests : IDisposable
{
    private readonly string _runs = Path.Combine(Path.GetTempPath(), "tailorpo-host-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
    }

    private static async Task<TrainingReport> TrainAsync(string modelFolder, string runFolder, int steps, int budget)
    {
        // docs:begin host
        var services = new ServiceCollection();
        services.AddTailorPODiffusion(o =>
        {
            o.ModelFolder = modelFolder;                                   // a diffusers Stable Diffusion v1.5 folder
            o.Lora = new LoraConfig { Rank = 4 };                          // paper: rank 4 on to_q, to_k, to_v, to_out.0
        });
        services.AddTailorPOCore(o => o.Sampling.InferenceSteps = steps);  // paper: 20 steps, eta 1, CFG 5, T_finetune 5
        services.AddTailorPORewards(o => o.Add(RewardKind.JpegCompressibility));
        services.AddTailorPOGuidance(o => o.Enabled = false);              // TailorPO-G: true, with a differentiable reward
        services.AddTailorPOTraining(o =>
            {
                o.Method = TrainingMethods.TailorPO;                   // or "tailorpo-g", "d3po", "ddpo", "diffusion-dpo", or yours
                o.SampleBudget = budget;                                   // paper: 10,000 images
                o.CheckpointDirectory = runFolder;                         // adapters, optimizer, generator, counters
            })
            .Configure<StableDiffusionPipeline>((o, pipeline) =>
            {
                var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
                o.LatentShape = [pipeline.Unet.Config.InChannels, size, size];
            });
        services.AddSingleton<ITrainingMetricsSink>(_ => new CsvMetricsSink(Path.Combine(runFolder, "metrics.csv")));

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();       // every invalid option, in one exception
        using var trainer = provider.GetRequiredService<PreferenceTrainer>();
        var report = await trainer.TrainAsync(new Progress<TrainingProgress>(p =>
            Console.WriteLine($"{p.Fraction:P0}  step {p.Latest.StepIndex}  loss {p.Latest.Loss:F4}  accuracy {p.Latest.ImplicitAccuracy:F2}")));
        Console.WriteLine($"{report.Samples} images, {report.Updates} updates, {report.NoiseEvaluationsPerSample:F1} model evaluations per image");
        // The LoRA (PEFT layout, loadable by LoraAdapter.FromFile and diffusers): runFolder/checkpoint/adapter.safetensors
        // docs:end host
        return report;
    }

    [Fact]
    public async Task The_documented_host_trains_the_fixture_pipeline_and_writes_a_loadable_LoRA_and_metrics()
    {
        using var folder = new TinyPipelineFolder();
        var report = await TrainAsync(folder.Path, _runs, steps: 5, budget: 2);

        Assert.Equal(2, report.Samples);
        Assert.True(report.Updates > 0);
        Assert.Equal(0, report.SkippedUpdates);
        var lora = Path.Combine(_runs, PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.AdapterFile);
        using (var unet = TailorPO.Diffusion.UNet.UNet2DConditionModel.FromPretrained(Path.Combine(folder.Path, "unet")))
        {
            var adapter = LoraAdapter.FromFile(unet, lora);
            Assert.NotEmpty(adapter.Layers);
        }
        var csv = File.ReadAllLines(Path.Combine(_runs, "metrics.csv"));
        Assert.Equal(report.Updates + 1, csv.Length);
    }

    [Fact]
    public void Doc_quotes_the_compiled_host()
    {
        var source = DocRegions.ReadRepositoryText("tests", "TailorPO.Diffusion.Tests", "Docs", "TrainerHostExampleTests.cs");
        foreach (var page in new[] { "training.md" })
        {
            var doc = DocRegions.ReadRepositoryText("docs", page);
            foreach (var region in new[] { "usings", "host" })
            {
                var quoted = DocRegions.Region(source, region);
                Assert.True(quoted.Length > 100, $"region '{region}' is missing");
                Assert.True(doc.Contains(quoted, StringComparison.Ordinal), $"docs/{page} does not quote the '{region}' region verbatim (dedented).");
            }
        }
    }
}
