using TailorPO.Shapes.Evaluation;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Evaluation;
using TailorPO.Samples.Pretraining;
using TailorPO.Shapes;
using TailorPO.Shapes.Dataset;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary>The committed embedded model (copied next to the tests from samples/TailorPO.Shapes/EmbeddedModel).</summary>
public class EmbeddedModelTests(ITestOutputHelper output)
{
    [Fact]
    public void The_committed_folder_loads_as_a_pixel_space_stable_diffusion_pipeline_within_20_MB()
    {
        var files = Directory.GetFiles(EmbeddedModel.Folder, "*", SearchOption.AllDirectories);
        var bytes = files.Sum(f => new FileInfo(f).Length);
        output.WriteLine($"{files.Length} files, {bytes:N0} bytes");
        Assert.True(bytes <= 20L * 1024 * 1024, $"the embedded model takes {bytes:N0} bytes");

        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        var design = new TinyModelDesign();
        Assert.Null(pipeline.Vae);
        Assert.IsType<PixelSpaceDecoder>(pipeline.Decoder);
        Assert.Equal(design.ImageSize, pipeline.DefaultImageSize);
        Assert.Equal(3, pipeline.Unet.Config.InChannels);
        Assert.Equal(design.TextHiddenSize, pipeline.TextEncoder.Config.HiddenSize);
        Assert.Equal(design.MaxTokens, pipeline.Tokenizer.ModelMaxLength);
        Assert.Equal(design.BlockOutChannels, pipeline.Unet.Config.BlockOutChannels);
        Assert.Equal(pipeline.Schedule.Config.BetaSchedule, Core.Schedules.SchedulerConfig.Parse(design.SchedulerConfig().ToJsonString()).BetaSchedule);
        // Every caption of the dataset fits the short context without truncation.
        var captions = ShapeVocabulary.DrawableCombinations()
            .SelectMany(c => ShapeVocabulary.Textures.Select(t => ShapeVocabulary.Caption(c.Shape, c.Color, t, c.Background))).ToList();
        Assert.DoesNotContain(true, pipeline.Tokenizer.EncodeForModel(captions, design.MaxTokens).Truncated);
    }

    [Fact]
    public void On_held_out_captions_the_committed_model_draws_the_captions_colours()
    {
        // 16 held-out captions, 10 DDIM steps (the CLI default is 20), CFG 3, eta 1. Over seeds 1000-1005 at this
        // budget the committed model matched the shape colour and the background colour in 96 of 96 images (and
        // 256 of 256 at the CLI defaults; 86.7% shape colour with the paper's CFG 5, see docs/embedded-model.md),
        // so the bar of 80% is asserted as is.
        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        var options = new CaptionFidelityOptions { Samples = 16, Steps = 10, Seed = 1000, BatchSize = 16 };
        var report = CaptionFidelityEvaluator.Evaluate(pipeline, options);

        output.WriteLine($"colour {report.ColorAgreement:P0}, shape {report.ShapeAgreement:P0}, background colour {report.BackgroundColorAgreement:P0}, pattern {report.TextureAgreement:P0}");
        foreach (var sample in report.Samples) output.WriteLine($"{sample.Caption} -> {sample.Measured}");
        Assert.Equal(16, report.Count);
        Assert.Equal(DatasetSplit.HeldOut, report.Split);
        Assert.All(report.Samples, s => Assert.True(ShapeVocabulary.IsHeldOut(s.Scene.Shape, s.Scene.Color, s.Scene.Background)));
        Assert.True(report.ColorAgreement >= 0.8, $"shape colour agreement {report.ColorAgreement:P0}");
        Assert.True(report.BackgroundColorAgreement >= 0.8, $"background colour agreement {report.BackgroundColorAgreement:P0}");
    }
}
