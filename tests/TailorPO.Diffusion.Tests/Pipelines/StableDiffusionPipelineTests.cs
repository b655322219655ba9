using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Pipelines;

public class StableDiffusionPipelineTests
{
    private static TextToImageRequest Request(long seed) => new()
    {
        Prompts = ["a photo of a cat", "a red bicycle"],
        GuidanceScale = 5.0,
        Steps = 3,
        Eta = 1.0,
        Seed = seed,
    };

    [Fact]
    public void Same_seed_gives_the_same_images_and_a_different_seed_different_images()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var reported = new List<GenerationProgress>();
        var progress = new SynchronousProgress<GenerationProgress>(reported.Add);

        using var first = pipeline.Generate(Request(1), progress);
        using var again = pipeline.Generate(Request(1));
        using var other = pipeline.Generate(Request(2));

        Assert.Equal(new long[] { 2, 3, pipeline.DefaultImageSize, pipeline.DefaultImageSize }, first.Images.shape);
        Assert.True(first.Images.min().item<float>() >= 0f && first.Images.max().item<float>() <= 1f);
        Assert.Equal(first.Images.data<float>().ToArray(), again.Images.data<float>().ToArray());
        Assert.True((first.Images - other.Images).abs().max().item<float>() > 1e-3f, "a different seed should change the images");
        Assert.Equal(new[] { 1, 2, 3 }, reported.Select(p => p.Step));
        Assert.All(reported, p => Assert.Equal(3, p.TotalSteps));
    }

    [Fact]
    public void Deterministic_ddim_with_eta_zero_ignores_nothing_but_the_seed_of_the_initial_noise()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var request = new TextToImageRequest { Prompts = ["a dog"], Steps = 2, Eta = 0, Seed = 5, GuidanceScale = 1.0 };
        using var a = pipeline.Generate(request);
        using var b = pipeline.Generate(request);
        Assert.Equal(a.Latents.data<float>().ToArray(), b.Latents.data<float>().ToArray());
    }

    [Fact]
    public void Images_are_saved_as_png_files_that_read_back()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var result = pipeline.Generate(new TextToImageRequest { Prompts = ["a tree"], Steps = 1, Seed = 3 });
        var output = Path.Combine(folder.Path, "out");
        var paths = result.SavePngs(output);
        Assert.Single(paths);
        using var scope = NewDisposeScope();
        var loaded = ImageTensors.Load(paths[0]);
        Assert.Equal(result.Images[0].shape, loaded.shape);
        Assert.True((loaded - (result.Images[0] * 255).round() / 255).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Cancellation_stops_generation_between_steps()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var cancellation = new CancellationTokenSource();
        var progress = new SynchronousProgress<GenerationProgress>(_ => cancellation.Cancel());
        Assert.Throws<OperationCanceledException>(() => pipeline.Generate(Request(1), progress, cancellation.Token));
    }

    [Fact]
    public async Task GenerateAsync_cancelled_before_it_starts_is_a_cancelled_task_that_ran_no_step()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        var steps = 0;

        var task = pipeline.GenerateAsync(Request(1), new SynchronousProgress<GenerationProgress>(_ => steps++), cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(0, steps);
        // The synchronous form keeps the same contract.
        Assert.Throws<OperationCanceledException>(() => pipeline.Generate(Request(1), new SynchronousProgress<GenerationProgress>(_ => steps++), cancellation.Token));
        Assert.Equal(0, steps);
    }

    [Fact]
    public async Task GenerateAsync_cancelled_while_denoising_stops_after_the_current_step_as_a_cancelled_task()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var cancellation = new CancellationTokenSource();
        var steps = 0;
        var progress = new SynchronousProgress<GenerationProgress>(_ =>
        {
            if (++steps == 2) cancellation.Cancel();
        });

        var task = pipeline.GenerateAsync(Request(1), progress, cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);
        Assert.Equal(2, steps);
        Assert.True(Request(1).Steps > 2, "the request must have more steps than the cancellation lets run");
    }

    [Fact]
    public void A_missing_component_folder_is_named_in_the_error()
    {
        using var folder = new TinyPipelineFolder(path => Directory.Delete(Path.Combine(path, "vae"), recursive: true));
        var error = Assert.Throws<DirectoryNotFoundException>(() => StableDiffusionPipeline.FromPretrained(folder.Path));
        Assert.Contains("vae", error.Message);
    }

    [Fact]
    public void A_model_index_without_a_required_component_is_rejected_naming_it()
    {
        using var folder = new TinyPipelineFolder(path =>
            File.WriteAllText(Path.Combine(path, "model_index.json"), """{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}"""));
        var error = Assert.Throws<ModelConfigException>(() => StableDiffusionPipeline.FromPretrained(folder.Path));
        // vae is optional since pixel-space models have none (issue 11); every required component is named.
        foreach (var required in ModelIndex.RequiredComponents.Where(c => c != "unet"))
            Assert.Contains($"'{required}'", error.Message);
        Assert.Contains("model_index.json", error.Message);
    }

    [Fact]
    public void Mismatched_text_encoder_width_is_reported_with_both_config_keys()
    {
        using var folder = new TinyPipelineFolder();
        using var parts = StableDiffusionPipeline.FromPretrained(folder.Path);
        var hidden = parts.TextEncoder.Config.HiddenSize;
        // A text encoder whose width differs from the UNet's cross_attention_dim must not be accepted.
        using var wider = new TailorPO.Diffusion.Clip.CLIPTextModel(parts.TextEncoder.Config with { HiddenSize = hidden * 2, IntermediateSize = hidden * 4 });
        var error = Assert.Throws<ModelConfigException>(() =>
            new StableDiffusionPipeline(parts.Unet, parts.Vae, wider, parts.Tokenizer, parts.SchedulerConfig));
        Assert.Contains("cross_attention_dim", error.Message);
        Assert.Contains("hidden_size", error.Message);
    }

    [Fact]
    public void Bad_requests_name_the_field()
    {
        using var folder = new TinyPipelineFolder();
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        Assert.Contains("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate(new TextToImageRequest { Prompts = ["x"], Steps = 0 })).Message);
        Assert.Contains("Eta", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate(new TextToImageRequest { Prompts = ["x"], Eta = 2 })).Message);
        Assert.Contains("height", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate(new TextToImageRequest { Prompts = ["x"], Steps = 1, Height = 30 })).Message);
        Assert.Throws<ArgumentException>(() => pipeline.EncodePrompts(["a", "b"], ["only one"]));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the callback inline.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
