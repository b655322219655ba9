using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Vae;
using TailorPO.TestUtilities;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Vae;

/// <summary>
/// Real SD v1.5 VAE files load: legacy attention names and 1x1-conv attention weights are
/// converted as diffusers does; configs are read from the file; bad files fail clearly.
/// </summary>
public sealed class AutoencoderKLLoadingTests : IDisposable
{
    private readonly FixtureCases _cases = FixtureCases.Load(VaeTestSupport.Folder, "cases.safetensors");

    private Tensor FirstLatents() => _cases.Get(VaeTestSupport.CasesWith("latents").First()[0].ToString()!, "latents");

    [Fact]
    public void Legacy_query_key_value_proj_attn_names_load_to_identical_outputs()
    {
        using var scope = NewDisposeScope();
        using var legacy = VaeTestSupport.CopyModel(w =>
        {
            VaeTestSupport.RenameAll(w, ".attentions.0.to_q.", ".attentions.0.query.");
            VaeTestSupport.RenameAll(w, ".attentions.0.to_k.", ".attentions.0.key.");
            VaeTestSupport.RenameAll(w, ".attentions.0.to_v.", ".attentions.0.value.");
            VaeTestSupport.RenameAll(w, ".attentions.0.to_out.0.", ".attentions.0.proj_attn.");
            Assert.Contains("decoder.mid_block.attentions.0.proj_attn.weight", w.Keys);
            Assert.DoesNotContain(w.Keys, k => k.Contains(".to_q.", StringComparison.Ordinal));
        });
        using var reference = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder));
        using var converted = AutoencoderKL.FromPretrained(legacy.Path);
        Assert.True(Parity.BitEqual(reference.Decode(FirstLatents()), converted.Decode(FirstLatents())));
    }

    [Fact]
    public void Conv_style_attention_weights_are_reshaped_to_linear_weights()
    {
        using var scope = NewDisposeScope();
        using var convStyle = VaeTestSupport.CopyModel(w =>
        {
            foreach (var key in w.Keys.Where(k => k.Contains(".attentions.0.to_", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal)).ToList())
            {
                var old = w[key];
                w[key] = old.unsqueeze(-1).unsqueeze(-1).contiguous();
                old.Dispose();
            }
            VaeTestSupport.RenameAll(w, ".attentions.0.to_out.0.", ".attentions.0.proj_attn.");
        });
        using var reference = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder));
        using var converted = AutoencoderKL.FromPretrained(convStyle.Path);
        Assert.True(Parity.BitEqual(reference.Decode(FirstLatents()), converted.Decode(FirstLatents())));
    }

    [Fact]
    public void A_file_with_both_the_legacy_and_the_current_name_is_refused()
    {
        using var both = VaeTestSupport.CopyModel(w =>
            w["encoder.mid_block.attentions.0.query.bias"] = w["encoder.mid_block.attentions.0.to_q.bias"].clone());
        var error = Assert.Throws<ModelConfigException>(() => AutoencoderKL.FromPretrained(both.Path));
        Assert.Contains("encoder.mid_block.attentions.0.to_q.bias", error.Message);
    }

    [Fact]
    public void Missing_and_unexpected_keys_are_named()
    {
        using var broken = VaeTestSupport.CopyModel(w =>
        {
            w.Remove("decoder.conv_out.bias", out var removed);
            removed!.Dispose();
            w["decoder.extra.weight"] = zeros(1);
        });
        var error = Assert.Throws<StateDictMismatchException>(() => AutoencoderKL.FromPretrained(broken.Path));
        Assert.Equal(["decoder.conv_out.bias"], error.MissingKeys);
        Assert.Equal(["decoder.extra.weight"], error.UnexpectedKeys);
    }

    [Fact]
    public void The_module_has_exactly_the_fixture_keys_and_shapes()
    {
        using var scope = NewDisposeScope();
        using var file = SafetensorsFile.Open(FixtureRoot.Combine(VaeTestSupport.Folder, VaeTestSupport.WeightsName));
        using var vae = new AutoencoderKL(AutoencoderKLConfig.FromFile(FixtureRoot.Combine(VaeTestSupport.Folder, "config.json")));
        var moduleShapes = vae.state_dict().ToDictionary(p => p.Key, p => string.Join(",", p.Value.shape));
        var fileShapes = file.Names.ToDictionary(n => n, n => string.Join(",", file.Entries[n].Shape));
        Assert.Equal(fileShapes.OrderBy(p => p.Key, StringComparer.Ordinal), moduleShapes.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Config_values_come_from_the_file()
    {
        var path = FixtureRoot.Combine(VaeTestSupport.Folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        var config = AutoencoderKLConfig.FromFile(path);
        Assert.Equal((double)json["scaling_factor"]!, config.ScalingFactor);
        Assert.Equal(json["block_out_channels"]!.AsArray().Select(n => (long)n!), config.BlockOutChannels);
        Assert.Equal((long)json["layers_per_block"]!, config.LayersPerBlock);
        Assert.Equal((long)json["norm_num_groups"]!, config.NormNumGroups);
        Assert.Equal((long)json["latent_channels"]!, config.LatentChannels);
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine(VaeTestSupport.Folder));
        Assert.Equal(config.ScalingFactor, vae.ScalingFactor);
    }

    [Theory]
    [InlineData("""{"down_block_types": ["DownEncoderBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "block_out_channels": [32, 64]}""", "down_block_types")]
    [InlineData("""{"block_out_channels": [32, 64]}""", "block_out_channels")]
    [InlineData("""{"block_out_channels": [48], "norm_num_groups": 32}""", "norm_num_groups")]
    [InlineData("""{"act_fn": "tanhshrink"}""", "act_fn")]
    [InlineData("""{"scaling_factor": -1}""", "scaling_factor")]
    [InlineData("""{"_class_name": "AutoencoderTiny"}""", "_class_name")]
    [InlineData("""{"latents_mean": [0, 0, 0, 0]}""", "latents_mean")]
    [InlineData("""{"layers_per_block": "two"}""", "layers_per_block")]
    public void A_bad_config_fails_naming_the_key(string json, string named)
    {
        var error = Assert.Throws<ModelConfigException>(() => AutoencoderKLConfig.FromJson(json, "vae.json"));
        Assert.Contains(named, error.Message);
        Assert.Contains("vae.json", error.Message);
    }

    [Fact]
    public void The_SD_v15_preset_builds_the_real_key_layout()
    {
        var config = AutoencoderKLConfig.StableDiffusionV15;
        Assert.Equal(8, config.DownsamplingFactor);
        using var vae = new AutoencoderKL(config);
        var keys = vae.state_dict();
        Assert.Equal(new long[] { 512, 512 }, keys["decoder.mid_block.attentions.0.to_q.weight"].shape);
        Assert.Equal(new long[] { 128, 3, 3, 3 }, keys["encoder.conv_in.weight"].shape);
        Assert.Contains("decoder.up_blocks.3.resnets.2.conv2.weight", keys.Keys);
        Assert.DoesNotContain("decoder.up_blocks.3.upsamplers.0.conv.weight", keys.Keys);
        Assert.Equal(83_653_863L, vae.parameters().Sum(p => p.numel()));
    }

    public void Dispose() => _cases.Dispose();
}
