using TailorPO.Core.Sampling;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Pipelines;

/// <summary>A diffusers folder without a VAE: the UNet denoises RGB pixels and the decoder is the identity map to [0, 1].</summary>
public class PixelSpacePipelineTests
{
    [Fact]
    public void A_folder_whose_index_sets_vae_to_null_loads_as_a_pixel_space_model()
    {
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        Assert.False(Directory.Exists(Path.Combine(folder.Path, "vae")));
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);

        Assert.Null(pipeline.Vae);
        Assert.Equal(1, pipeline.VaeScaleFactor);
        Assert.Equal(pipeline.Unet.Config.SampleSize, pipeline.DefaultImageSize);
        Assert.IsType<PixelSpaceDecoder>(pipeline.Decoder);
        using var scope = NewDisposeScope();
        var latents = pipeline.InitialLatents(2, 24, 16, new Generator(1));
        Assert.Equal(new long[] { 2, 3, 24, 16 }, latents.shape);
    }

    [Fact]
    public void A_folder_whose_index_has_no_vae_entry_loads_too()
    {
        using var folder = new TinyPipelineFolder(path =>
        {
            var index = Path.Combine(path, "model_index.json");
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(index))!.AsObject();
            node.Remove("vae");
            File.WriteAllText(index, node.ToJsonString());
        }, pixelSpace: true);
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        Assert.Null(pipeline.Vae);
    }

    [Fact]
    public void Generated_images_are_the_final_samples_mapped_from_minus_one_one_to_zero_one()
    {
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        using var result = pipeline.Generate(new TextToImageRequest { Prompts = ["a red circle", "a blue square"], Steps = 3, Eta = 1.0, GuidanceScale = 5.0, Seed = 4 });

        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 2, 3, pipeline.DefaultImageSize, pipeline.DefaultImageSize }, result.Images.shape);
        var expected = ((result.Latents + 1) / 2).clamp(0, 1);
        Assert.Equal(expected.data<float>().ToArray(), result.Images.data<float>().ToArray());
    }

    [Fact]
    public void Generate_runs_cores_ddim_sampler_from_the_seeded_initial_noise()
    {
        using var folder = new TinyPipelineFolder(pixelSpace: true);
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var request = new TextToImageRequest { Prompts = ["a green cross"], Steps = 4, Eta = 0.5, GuidanceScale = 3.0, Seed = 11 };
        using var result = pipeline.Generate(request);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var generator = new Generator(11);
        var initial = pipeline.InitialLatents(1, pipeline.DefaultImageSize, pipeline.DefaultImageSize, generator);
        var condition = pipeline.EncodePrompts(request.Prompts, guidanceScale: 3.0);
        var sampler = DdimSampler.ForGeneration(pipeline.NoisePredictor, pipeline.Schedule, 4, 0.5);
        var latents = sampler.Denoise(initial, condition, generator);
        Assert.Equal(latents.data<float>().ToArray(), result.Latents.data<float>().ToArray());
    }

    [Fact]
    public void Without_a_vae_a_unet_that_is_not_rgb_is_rejected_naming_its_channels()
    {
        using var folder = new TinyPipelineFolder(path =>
        {
            Directory.Delete(Path.Combine(path, "vae"), recursive: true);
            var index = Path.Combine(path, "model_index.json");
            File.WriteAllText(index, File.ReadAllText(index).Replace("\"vae\": [\"diffusers\", \"AutoencoderKL\"]", "\"vae\": [null, null]", StringComparison.Ordinal));
        });
        var error = Assert.Throws<ModelConfigException>(() => StableDiffusionPipeline.FromPretrained(folder.Path));
        Assert.Contains("in_channels", error.Message);
        Assert.Contains("without a VAE", error.Message);
    }

    [Fact]
    public void The_pixel_space_decoder_maps_to_zero_one_and_rejects_non_rgb_samples()
    {
        using var scope = NewDisposeScope();
        var decoder = new PixelSpaceDecoder();
        var samples = tensor(new[] { -1.5f, -1f, 0f, 0.5f, 1f, 2f }).reshape(1, 3, 1, 2);
        var images = decoder.DecodeToImages(samples);
        Assert.Equal(new[] { 0f, 0f, 0.5f, 0.75f, 1f, 1f }, images.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => decoder.DecodeToImages(zeros(1, 4, 2, 2)));
        Assert.Throws<ArgumentException>(() => decoder.DecodeToImages(zeros([1, 3, 2, 2], ScalarType.Int64)));
    }
}
