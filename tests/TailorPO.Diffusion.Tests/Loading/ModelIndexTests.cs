using System.Text.Json.Nodes;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Diffusion.Tests.Pipelines;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 7: <c>model_index.json</c> and the component class names are checked - an SDXL
/// pipeline, a <c>UNet2DModel</c> or an Euler scheduler is refused by name; DDIM, PNDM (as SD v1.5
/// ships it) and DDPM configs are accepted and the index says they are sampled with DDIM.
/// </summary>
public sealed class ModelIndexTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-index-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static JsonObject SDIndex() => new()
    {
        ["_class_name"] = "StableDiffusionPipeline",
        ["_diffusers_version"] = "0.21.4",
        ["feature_extractor"] = new JsonArray("transformers", "CLIPImageProcessor"),
        ["safety_checker"] = new JsonArray(null, null),
        ["scheduler"] = new JsonArray("diffusers", "DDIMScheduler"),
        ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
        ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
        ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
        ["vae"] = new JsonArray("diffusers", "AutoencoderKL"),
    };

    /// <summary>SD v1.5's PNDM scheduler_config.json, with the fixture DDIM config's schedule values.</summary>
    private static JsonObject PndmAsSDShipsIt()
    {
        var ddim = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("ddim", "scheduler_config.json")))!.AsObject();
        var pndm = new JsonObject { ["_class_name"] = "PNDMScheduler", ["_diffusers_version"] = "0.6.0" };
        foreach (var key in new[] { "beta_end", "beta_schedule", "beta_start", "clip_sample", "num_train_timesteps", "set_alpha_to_one", "steps_offset", "trained_betas" })
            pndm[key] = ddim[key]?.DeepClone();
        pndm["skip_prk_steps"] = true;
        return pndm;
    }

    private string Write(JsonObject index, JsonObject? scheduler = null)
    {
        var folder = Path.Combine(_folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.WriteAllText(Path.Combine(folder, "model_index.json"), index.ToJsonString());
        if (scheduler is not null) File.WriteAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"), scheduler.ToJsonString());
        return folder;
    }

    [Theory]
    [InlineData("_class_name", "\"StableDiffusionXLPipeline\"", "SDXL")]
    [InlineData("unet", "[\"diffusers\", \"UNet2DModel\"]", "UNet2DModel")]
    [InlineData("scheduler", "[\"diffusers\", \"EulerDiscreteScheduler\"]", "EulerDiscreteScheduler")]
    [InlineData("vae", "[\"diffusers\", \"AutoencoderTiny\"]", "AutoencoderTiny")]
    [InlineData("text_encoder_2", "[\"transformers\", \"CLIPTextModelWithProjection\"]", "text_encoder_2")]
    public void Classes_this_library_does_not_implement_are_refused_by_name(string key, string value, string named)
    {
        var index = SDIndex();
        index[key] = JsonNode.Parse(value);
        var folder = Write(index);
        var error = Assert.Throws<ModelConfigException>(() => ModelIndex.Load(folder));
        Assert.Contains(Path.Combine(folder, "model_index.json"), error.Message);
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void A_unet_config_naming_UNet2DModel_is_refused()
    {
        var json = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("unet", "config.json")))!.AsObject();
        json["_class_name"] = "UNet2DModel";
        var error = Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson(json.ToJsonString(), "unet/config.json"));
        Assert.Contains("UNet2DModel", error.Message);
    }

    [Fact]
    public void An_euler_scheduler_config_is_refused_even_when_model_index_says_DDIM()
    {
        var scheduler = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("ddim", "scheduler_config.json")))!.AsObject();
        scheduler["_class_name"] = "EulerDiscreteScheduler";
        var folder = Write(SDIndex(), scheduler);
        var error = Assert.Throws<ModelConfigException>(() => ModelIndex.Load(folder));
        Assert.Contains(Path.Combine(folder, "scheduler", "scheduler_config.json"), error.Message);
        Assert.Contains("EulerDiscreteScheduler", error.Message);

        scheduler["_class_name"] = "PNDMScheduler";
        Assert.Contains("must agree", Assert.Throws<ModelConfigException>(() => ModelIndex.Load(Write(SDIndex(), scheduler))).Message);
    }

    [Theory]
    [InlineData("DDIMScheduler")]
    [InlineData("PNDMScheduler")]
    [InlineData("DDPMScheduler")]
    public void Schedulers_whose_config_DDIM_honours_are_accepted_and_the_sampler_is_named(string schedulerClass)
    {
        var index = SDIndex();
        index["scheduler"] = new JsonArray("diffusers", schedulerClass);
        var scheduler = schedulerClass == "PNDMScheduler"
            ? PndmAsSDShipsIt()
            : JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("ddim", "scheduler_config.json")))!.AsObject();
        scheduler["_class_name"] = schedulerClass;
        var loaded = ModelIndex.Load(Write(index, scheduler));
        Assert.Equal(schedulerClass, loaded.SchedulerClass);
        Assert.StartsWith("DDIM", loaded.SamplerDescription);
        Assert.Contains(schedulerClass, loaded.SamplerDescription);
    }

    [Fact]
    public void A_DDPM_config_with_a_learned_variance_is_refused()
    {
        var index = SDIndex();
        index["scheduler"] = new JsonArray("diffusers", "DDPMScheduler");
        var scheduler = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("ddim", "scheduler_config.json")))!.AsObject();
        scheduler["_class_name"] = "DDPMScheduler";
        scheduler["variance_type"] = "learned_range";
        Assert.Contains("variance_type", Assert.Throws<ModelConfigException>(() => ModelIndex.Load(Write(index, scheduler))).Message);
    }

    [Fact]
    public void A_pixel_space_index_without_a_vae_is_accepted()
    {
        var index = SDIndex();
        index.Remove("vae");
        var loaded = ModelIndex.Load(Write(index));
        Assert.False(loaded.HasVae);
        Assert.DoesNotContain("vae", loaded.LoadedComponents);
        Assert.True(ModelIndex.Load(Write(SDIndex())).HasVae);
    }

    [Fact]
    public void A_folder_with_SD_v15s_PNDM_scheduler_loads_and_samples_on_the_same_schedule_as_its_DDIM_twin()
    {
        using var folder = new TinyPipelineFolder(path =>
        {
            var index = JsonNode.Parse(File.ReadAllText(Path.Combine(path, "model_index.json")))!.AsObject();
            index["scheduler"] = new JsonArray("diffusers", "PNDMScheduler");
            File.WriteAllText(Path.Combine(path, "model_index.json"), index.ToJsonString());
            File.WriteAllText(Path.Combine(path, "scheduler", "scheduler_config.json"), PndmAsSDShipsIt().ToJsonString());
        });
        using var pipeline = StableDiffusionPipeline.FromPretrained(folder.Path);
        var ddim = SchedulerConfig.FromFile(FixtureRoot.Combine("ddim", "scheduler_config.json"));
        Assert.Equal(ddim with { Source = "" }, pipeline.SchedulerConfig with { Source = "" });
        Assert.Contains("PNDMScheduler", ModelIndex.Load(folder.Path).SamplerDescription);
    }
}
