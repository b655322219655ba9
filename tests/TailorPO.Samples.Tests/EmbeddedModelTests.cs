using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Dataset;
using TailorPO.Samples.Evaluation;
using TailorPO.Samples.Pretraining;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary>The committed embedded model (copied next to the tests from samples/TailorPO.Samples/EmbeddedModel).</summary>
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
}
