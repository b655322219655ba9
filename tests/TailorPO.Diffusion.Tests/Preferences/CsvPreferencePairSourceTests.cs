using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Diffusion.Preferences;
using TailorPO.Diffusion.Tests.Pipelines;
using TailorPO.Rewards.Options;
using TailorPO.Training;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Preferences;

/// <summary>Diffusion-DPO's offline pairs from a CSV of image files: parsing, checks, cropping, encoding, and training on them.</summary>
public sealed class CsvPreferencePairSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-pairs-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Rows_resolve_paths_against_the_csv_folder_and_prompts_may_hold_quoted_commas_and_quotes()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "img"));
        foreach (var name in new[] { "a.png", "b.png", "img/c.png" }) Draw(name, 8, 8, SKColors.Red);
        var csv = Write("pairs.csv", "prompt,preferred,dispreferred", "a cat,a.png,b.png", "\"a cat, in the \"\"snow\"\"\",img/c.png,a.png");

        var rows = PreferencePairCsv.Read(_folder); // a folder means its pairs.csv
        Assert.Equal(2, rows.Count);
        Assert.Equal(new PreferencePairRow(2, "a cat", Path.Combine(_folder, "a.png"), Path.Combine(_folder, "b.png")), rows[0]);
        Assert.Equal("a cat, in the \"snow\"", rows[1].Prompt);
        Assert.Equal(Path.Combine(_folder, "img", "c.png"), rows[1].Preferred);
        Assert.Equal(3, rows[1].Line);
        Assert.Equal(rows, PreferencePairCsv.Read(csv));
    }

    [Theory]
    [InlineData("prompt,good,bad\na,a.png,a.png", ":1:", "header")]
    [InlineData("prompt,preferred,dispreferred\na,a.png", ":2:", "expected 3 fields")]
    [InlineData("prompt,preferred,dispreferred\na,a.png,a.png\n ,a.png,a.png", ":3:", "prompt is empty")]
    [InlineData("prompt,preferred,dispreferred\n\"a,a.png,a.png", ":2:", "not closed")]
    [InlineData("prompt,preferred,dispreferred\na \"cat\",a.png,a.png", ":2:", "quote inside an unquoted field")]
    [InlineData("prompt,preferred,dispreferred\n\"a\"x,a.png,a.png", ":2:", "closing quote")]
    [InlineData("prompt,preferred,dispreferred", "", "no pair")]
    [InlineData("", "", "is empty")]
    public void A_malformed_csv_is_refused_naming_file_line_and_problem(string text, string line, string problem)
    {
        Draw("a.png", 4, 4, SKColors.Blue);
        var csv = Write("bad.csv", text.Split('\n'));
        var error = Assert.Throws<InvalidDataException>(() => PreferencePairCsv.Read(csv));
        Assert.Contains(csv + line, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_missing_image_or_csv_is_a_file_not_found_naming_the_line()
    {
        Draw("a.png", 4, 4, SKColors.Blue);
        var csv = Write("pairs.csv", "prompt,preferred,dispreferred", "a,a.png,missing.png");
        var error = Assert.Throws<FileNotFoundException>(() => PreferencePairCsv.Read(csv));
        Assert.Contains(":2:", error.Message);
        Assert.Contains("missing.png", error.Message);
        Assert.Throws<FileNotFoundException>(() => PreferencePairCsv.Read(Path.Combine(_folder, "none.csv")));
    }

    [Fact]
    public void Images_are_centre_cropped_to_a_square_and_resized()
    {
        // 30 x 10: a blue 10 x 10 square in the middle between red margins; the centred crop is exactly the blue square.
        using var bitmap = new SKBitmap(30, 10);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Red);
            canvas.DrawRect(10, 0, 10, 10, new SKPaint { Color = SKColors.Blue });
        }
        Save(bitmap, "wide.png");
        using var scope = NewDisposeScope();
        var image = ImageTensors.LoadSquare(Path.Combine(_folder, "wide.png"), 4);
        Assert.Equal(new long[] { 3, 4, 4 }, image.shape);
        Assert.Equal(new[] { 0f, 0f, 1f }, image.mean([1, 2]).data<float>().ToArray());
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_refused_naming_the_csv_line()
    {
        Draw("a.png", 8, 8, SKColors.Green);
        File.WriteAllText(Path.Combine(_folder, "text.png"), "not a picture");
        Write("pairs.csv", "prompt,preferred,dispreferred", "a,a.png,a.png", "b,a.png,text.png");
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var source = CsvPreferencePairSource.FromCsv(_folder, pipeline);
        var error = Assert.Throws<InvalidDataException>(() => source.Get([1]));
        Assert.Contains("line 3", error.Message);
        Assert.Contains("text.png", error.Message);
    }

    [Fact]
    public void Pixel_space_latents_are_the_resized_images_mapped_to_minus_one_one()
    {
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var size = pipeline.DefaultImageSize;
        Draw("white.png", 2 * size, 2 * size, SKColors.White);
        Draw("black.png", size + 3, size, SKColors.Black);
        Write("pairs.csv", "prompt,preferred,dispreferred", "light,white.png,black.png");
        using var source = CsvPreferencePairSource.FromCsv(_folder, pipeline);

        using var scope = NewDisposeScope();
        var (prompts, preferred, dispreferred) = source.Get([0, 0]);
        Assert.Equal(["light", "light"], prompts);
        Assert.Equal(new long[] { 2, 3, size, size }, preferred.shape);
        Assert.Equal(1.0, preferred.min().item<float>());
        Assert.Equal(-1.0, dispreferred.max().item<float>());
    }

    [Fact]
    public void Vae_latents_are_the_posterior_mean_times_the_scaling_factor()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var vae = pipeline.Vae!;
        var size = pipeline.DefaultImageSize;
        using var bitmap = new SKBitmap(size, size);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Orange);
            canvas.DrawCircle(size / 2f, size / 2f, size / 4f, new SKPaint { Color = SKColors.Purple, IsAntialias = true });
        }
        Save(bitmap, "p.png");
        Draw("q.png", size, size, SKColors.Teal);
        Write("pairs.csv", "prompt,preferred,dispreferred", "x,p.png,q.png");
        using var source = CsvPreferencePairSource.FromCsv(_folder, pipeline);

        using var scope = NewDisposeScope();
        var (_, preferred, _) = source.Get([0]);
        using var noGrad = no_grad();
        // Same size, so LoadSquare is the plain decode; the expectation composes AutoencoderKL.Encode (diffusers parity tests) by hand.
        var pixels = ImageTensors.Load(Path.Combine(_folder, "p.png")).unsqueeze(0);
        using var posterior = vae.Encode(pixels * 2 - 1);
        var expected = posterior.Mean * vae.ScalingFactor;
        Assert.Equal(new long[] { 1, pipeline.Unet.Config.InChannels, size / pipeline.VaeScaleFactor, size / pipeline.VaeScaleFactor }, preferred.shape);
        Assert.True(allclose(expected, preferred, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public async Task Diffusion_dpo_trains_on_the_csv_pairs_registered_in_di()
    {
        using var folder = new TinyPipelineFolder();
        int side;
        using (var probe = StableDiffusionPipeline.FromPretrained(folder.Path)) side = probe.DefaultImageSize;
        Draw("light.png", side, side, SKColors.White);
        Draw("dark.png", side, side, SKColors.DarkSlateGray);
        Write("pairs.csv", "prompt,preferred,dispreferred", "a bright room,light.png,dark.png", "a lamp,light.png,dark.png");

        var services = new ServiceCollection();
        services.AddTailorPODiffusion(o => (o.ModelFolder, o.Lora) = (folder.Path, new TailorPO.Diffusion.Lora.LoraConfig { Rank = 2 }));
        services.AddTailorPOCore(o => o.Sampling.InferenceSteps = 5);
        services.AddTailorPORewards(o => o.Add(RewardKind.JpegCompressibility));
        services.AddTailorPOGuidance(o => o.Enabled = false);
        services.AddTailorPOTraining(o => (o.Method, o.SampleBudget, o.BatchSize, o.LatentShape) = (TrainingMethods.DiffusionDpo, 4, 2, null))
            .Configure<StableDiffusionPipeline>((o, pipeline) =>
                o.LatentShape = [pipeline.Unet.Config.InChannels, pipeline.DefaultImageSize / pipeline.VaeScaleFactor, pipeline.DefaultImageSize / pipeline.VaeScaleFactor]);
        services.AddSingleton<IPreferencePairSource>(sp => CsvPreferencePairSource.FromCsv(_folder, sp.GetRequiredService<StableDiffusionPipeline>()));

        using var provider = services.BuildServiceProvider();
        using var trainer = provider.GetRequiredService<PreferenceTrainer>();
        var report = await trainer.TrainAsync();

        Assert.Equal(4, report.Samples);
        Assert.True(report.Updates > 0);
        Assert.Equal(0, report.SkippedUpdates);
        // The LoRA's up matrices start at zero; the updates on the CSV pairs moved them.
        var adapter = provider.GetRequiredService<IAdapter>();
        Assert.Contains(adapter.TrainableParameters, p => p.Parameter.detach().abs().max().item<float>() > 0 && p.Name.Contains("lora_B", StringComparison.Ordinal));
        Assert.Equal(2, provider.GetRequiredService<IPreferencePairSource>().Count);
    }

    private void Draw(string name, int width, int height, SKColor color)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap)) canvas.Clear(color);
        Save(bitmap, name);
    }

    private void Save(SKBitmap bitmap, string name)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(Path.Combine(_folder, name), data.ToArray());
    }

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, string.Join("\n", lines));
        return path;
    }
}
