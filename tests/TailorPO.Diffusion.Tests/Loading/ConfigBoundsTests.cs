using System.Diagnostics;
using System.Text.Json.Nodes;
using TailorPO.Core.Errors;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using TorchSharp;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, items 5 and 8: every config is bounded before anything is allocated - each integer key
/// against its range ("out of range [a, b]", naming file and key), then the parameter count computed
/// from the config against an overridable limit.
/// </summary>
public sealed class ConfigBoundsTests
{
    private static JsonObject FixtureConfig(string folder, string file = "config.json") =>
        JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine(folder, file)))!.AsObject();

    private static long CountOf(TorchSharp.torch.nn.Module model) => model.parameters().Sum(p => p.numel());

    // ---- the parameter count computed from a config is the built model's --------------------------

    public static TheoryData<string> UNetVariants() =>
    [
        "fixture",
        "per-block lists",
        "linear projection, scale-shift, two transformer layers",
        "kernels, time embedding width, down blocks without attention",
    ];

    [Theory]
    [MemberData(nameof(UNetVariants))]
    public void The_unet_parameter_count_computed_from_the_config_is_the_built_models(string variant)
    {
        var json = FixtureConfig("unet");
        var channels = json["block_out_channels"]!.AsArray().Select(c => c!.GetValue<int>()).ToArray();
        int blocks = channels.Length;
        switch (variant)
        {
            case "per-block lists":
                json["layers_per_block"] = new JsonArray(Enumerable.Range(0, blocks).Select(i => (JsonNode)(1 + i % 2)).ToArray());
                json["transformer_layers_per_block"] = new JsonArray(Enumerable.Range(0, blocks).Select(i => (JsonNode)(1 + (i + 1) % 2)).ToArray());
                json["cross_attention_dim"] = new JsonArray(Enumerable.Range(0, blocks).Select(_ => (JsonNode)json["cross_attention_dim"]!.GetValue<int>()).ToArray());
                break;
            case "linear projection, scale-shift, two transformer layers":
                json["use_linear_projection"] = true;
                json["resnet_time_scale_shift"] = "scale_shift";
                json["transformer_layers_per_block"] = 2;
                break;
            case "kernels, time embedding width, down blocks without attention":
                json["conv_in_kernel"] = 5;
                json["conv_out_kernel"] = 1;
                json["time_embedding_dim"] = channels[0] * 3;
                json["down_block_types"] = new JsonArray(Enumerable.Range(0, blocks).Select(_ => (JsonNode)"DownBlock2D").ToArray());
                json["up_block_types"] = new JsonArray(Enumerable.Range(0, blocks).Select(i => (JsonNode)(i == 0 ? "UpBlock2D" : "CrossAttnUpBlock2D")).ToArray());
                break;
        }
        var config = UNet2DConditionConfig.FromJson(json.ToJsonString(), "variant");
        using var model = new UNet2DConditionModel(config);
        Assert.Equal(CountOf(model), (long)config.CountParameters());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_vae_parameter_count_computed_from_the_config_is_the_built_models(bool variant)
    {
        var json = FixtureConfig("vae");
        if (variant)
        {
            json["layers_per_block"] = json["layers_per_block"]!.GetValue<int>() + 1;
            json["mid_block_add_attention"] = false;
            json["use_post_quant_conv"] = false;
            json["latent_channels"] = 3;
        }
        var config = AutoencoderKLConfig.FromJson(json.ToJsonString(), "variant");
        using var model = new AutoencoderKL(config);
        Assert.Equal(CountOf(model), (long)config.CountParameters());
    }

    [Fact]
    public void The_clip_parameter_counts_computed_from_the_configs_are_the_built_models()
    {
        var text = CLIPTextConfig.FromFile(FixtureRoot.Combine("clip_text", "config.json"));
        using (var plain = new CLIPTextModel(text)) Assert.Equal(CountOf(plain), (long)text.CountParameters(withProjection: false));
        using (var projected = new CLIPTextModelWithProjection(text)) Assert.Equal(CountOf(projected), (long)text.CountParameters(withProjection: true));
        var vision = CLIPVisionConfig.FromFile(FixtureRoot.Combine("aesthetic", "config.json"));
        using var visionModel = new CLIPVisionModelWithProjection(vision);
        Assert.Equal(CountOf(visionModel), (long)vision.CountParameters());
    }

    // ---- absurd values are refused before anything is allocated -----------------------------------

    public static TheoryData<string, string, string, string> AbsurdValues() => new()
    {
        // folder, weights, key, JSON value
        { "unet", "diffusion_pytorch_model.safetensors", "layers_per_block", "1000000" },
        { "unet", "diffusion_pytorch_model.safetensors", "transformer_layers_per_block", "10000000" },
        { "unet", "diffusion_pytorch_model.safetensors", "block_out_channels", "[1073741824, 1073741824, 1073741824, 1073741824]" },
        { "unet", "diffusion_pytorch_model.safetensors", "conv_in_kernel", "99999" },
        { "unet", "diffusion_pytorch_model.safetensors", "cross_attention_dim", "1e12" },
        { "unet", "diffusion_pytorch_model.safetensors", "layers_per_block", "2147483647" },
        { "vae", "diffusion_pytorch_model.safetensors", "layers_per_block", "1000000000" },
        { "vae", "diffusion_pytorch_model.safetensors", "layers_per_block", "4611686018427387904" },
        { "vae", "diffusion_pytorch_model.safetensors", "block_out_channels", "[1073741824]" },
        { "clip_text", "model.safetensors", "num_hidden_layers", "10000000" },
        { "clip_text", "model.safetensors", "vocab_size", "1000000000000" },
        { "clip_text", "model.safetensors", "max_position_embeddings", "1e9" },
    };

    [Theory]
    [MemberData(nameof(AbsurdValues))]
    public void An_absurd_size_is_refused_naming_file_and_key_before_anything_is_allocated(string folder, string weights, string key, string value)
    {
        using var copy = TempModelFolder.CopyOf(folder, weights, config => config[key] = JsonNode.Parse(value));
        var configFile = copy.File("config.json");
        var before = Environment.WorkingSet;
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<ModelConfigException>(() =>
        {
            using TorchSharp.torch.nn.Module model = folder switch
            {
                "unet" => UNet2DConditionModel.FromPretrained(copy.Path),
                "vae" => AutoencoderKL.FromPretrained(copy.Path),
                _ => CLIPTextModel.FromPretrained(copy.Path),
            };
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refused after {clock.Elapsed}");
        Assert.True(Environment.WorkingSet - before < 512L << 20, "nothing near the described size was allocated");
        Assert.Contains(configFile, error.Message);
        Assert.Contains(key, error.Message);
        Assert.Contains("out of range [", error.Message);
        Assert.DoesNotContain("must be an integer", error.Message);
    }

    [Fact]
    public void A_fraction_is_still_reported_as_not_an_integer()
    {
        var json = FixtureConfig("unet");
        json["layers_per_block"] = 2.5;
        var error = Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson(json.ToJsonString(), "test.json"));
        Assert.Contains("layers_per_block = 2.5 must be an integer", error.Message);
    }

    [Fact]
    public void Every_key_in_range_but_too_many_parameters_is_refused_by_the_limit_which_can_be_raised()
    {
        // All keys within their ranges, yet about 10^12 parameters: refused from the config alone.
        var json = FixtureConfig("unet");
        var blocks = json["block_out_channels"]!.AsArray().Count;
        json["block_out_channels"] = new JsonArray(Enumerable.Range(0, blocks).Select(_ => (JsonNode)65_536).ToArray());
        json["norm_num_groups"] = 32;
        var before = Environment.WorkingSet;
        var error = Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson(json.ToJsonString(), "big.json"));
        Assert.Contains("ModelSizeLimits.MaxParameters", error.Message);
        Assert.Contains("big.json", error.Message);
        Assert.Contains("block_out_channels", error.Message);
        Assert.True(Environment.WorkingSet - before < 512L << 20);

        // The fixture model against a limit one below and exactly at its own size (computed from the built model).
        long size;
        using (var built = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"))) size = CountOf(built);
        var tight = new ModelLoadOptions { Limits = new ModelSizeLimits { MaxParameters = size - 1 } };
        var refused = Assert.Throws<ModelConfigException>(() => UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"), tight));
        Assert.Contains(FixtureRoot.Combine("unet", "config.json"), refused.Message);
        using var exact = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"), new ModelLoadOptions { Limits = new ModelSizeLimits { MaxParameters = size } });
        Assert.Equal(size, CountOf(exact));
    }

    [Theory]
    [InlineData("1000000000")]
    [InlineData("1e12")]
    public void A_huge_schedule_length_is_refused_naming_file_and_key_and_the_bound_can_be_raised(string value)
    {
        var json = FixtureConfig("ddim", "scheduler_config.json");
        json["num_train_timesteps"] = JsonNode.Parse(value);
        var path = Path.Combine(Path.GetTempPath(), $"tailorpo-sched-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json.ToJsonString());
        try
        {
            var error = Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.FromFile(path));
            Assert.Equal("num_train_timesteps", error.Key);
            Assert.Contains(path, error.Message);
            Assert.Contains($"out of range [2, {SchedulerConfig.DefaultMaxTrainTimesteps}]", error.Message);

            json["num_train_timesteps"] = SchedulerConfig.DefaultMaxTrainTimesteps + 1;
            json.Remove("trained_betas");
            File.WriteAllText(path, json.ToJsonString());
            Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.FromFile(path));
            Assert.Equal(SchedulerConfig.DefaultMaxTrainTimesteps + 1, SchedulerConfig.FromFile(path, SchedulerConfig.DefaultMaxTrainTimesteps + 1).NumTrainTimesteps);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
