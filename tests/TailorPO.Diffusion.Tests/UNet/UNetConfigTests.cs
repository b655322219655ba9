using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.UNet;

/// <summary>config.json handling: unsupported knobs are named, SD v2.x knobs build the right structure.</summary>
public class UNetConfigTests
{
    private static JsonObject FixtureConfig() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("unet", "config.json")))!;

    /// <summary>A tiny config (few channels) derived from the fixture's, with edits.</summary>
    private static UNet2DConditionConfig Tiny(Action<JsonObject>? edit = null)
    {
        // Every knob that sets a size or a per-block list is set here, so no fixture value leaks into the shapes below.
        var json = FixtureConfig();
        json["in_channels"] = 4;
        json["out_channels"] = 4;
        json["transformer_layers_per_block"] = 1;
        json["only_cross_attention"] = false;
        json["block_out_channels"] = new JsonArray(8, 16);
        json["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "DownBlock2D");
        json["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D");
        json["norm_num_groups"] = 4;
        json["attention_head_dim"] = 2;
        json["cross_attention_dim"] = 12;
        json["layers_per_block"] = 1;
        edit?.Invoke(json);
        return UNet2DConditionConfig.FromJson(json.ToJsonString());
    }

    [Fact]
    public void Unknown_and_unsupported_knobs_are_all_named_in_one_exception()
    {
        var json = FixtureConfig();
        json["class_embed_type"] = "timestep";
        json["num_attention_heads"] = 8;
        json["mystery_knob"] = 3;
        json["future_knob_left_null"] = null;
        // The fixture's own block list with its first block replaced, so the list keeps the fixture's length.
        var blocks = json["down_block_types"]!.AsArray().Select(b => (JsonNode?)JsonValue.Create(b!.GetValue<string>())).ToArray();
        blocks[0] = JsonValue.Create("SimpleCrossAttnDownBlock2D");
        json["down_block_types"] = new JsonArray(blocks);
        json["act_fn"] = "tanhshrink";
        var ex = Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson(json.ToJsonString(), "test.json"));
        foreach (var knob in new[] { "class_embed_type", "num_attention_heads", "mystery_knob", "SimpleCrossAttnDownBlock2D", "act_fn" })
            Assert.Contains(knob, ex.Message);
        Assert.DoesNotContain("future_knob_left_null", ex.Message);
        Assert.Equal(5, ex.Problems.Count);

        json.Remove("class_embed_type");
        json.Remove("num_attention_heads");
        json.Remove("mystery_knob");
        json.Remove("act_fn");
        json.Remove("down_block_types");
        var accepted = UNet2DConditionConfig.FromJson(json.ToJsonString());
        Assert.Equal(["future_knob_left_null"], accepted.IgnoredKnobs);
    }

    [Fact]
    public void Inconsistent_lengths_and_head_splits_are_reported()
    {
        var ex = Assert.Throws<ModelConfigException>(() => Tiny(j =>
        {
            j["layers_per_block"] = new JsonArray(1, 2, 3);
            j["attention_head_dim"] = 3;
        }));
        Assert.Contains("layers_per_block", ex.Message);
        Assert.Throws<ModelConfigException>(() => Tiny(j => j["attention_head_dim"] = 3));
        Assert.Throws<ModelConfigException>(() => UNet2DConditionConfig.FromJson("{ not json"));
    }

    [Fact]
    public void Config_round_trips_through_its_json()
    {
        var config = UNet2DConditionConfig.FromFile(FixtureRoot.Combine("unet", "config.json"));
        Assert.Equal(config, UNet2DConditionConfig.FromJson(config.ToJson()));
        var sd2 = Tiny(j => { j["attention_head_dim"] = new JsonArray(2, 4); j["use_linear_projection"] = true; j["upcast_attention"] = true; });
        Assert.Equal(sd2, UNet2DConditionConfig.FromJson(sd2.ToJson()));
    }

    [Fact]
    public void Per_block_head_counts_set_each_blocks_head_size()
    {
        using var model = new UNet2DConditionModel(Tiny(j => j["attention_head_dim"] = new JsonArray(2, 4)));
        var heads = model.AttentionModules().ToDictionary(a => a.Path, a => a.Attention.Heads);
        Assert.All(heads.Where(h => h.Key.StartsWith("down_blocks.0")), h => Assert.Equal(2, h.Value));
        Assert.All(heads.Where(h => h.Key.StartsWith("mid_block") || h.Key.StartsWith("up_blocks.1")), h => Assert.Equal(h.Key.StartsWith("mid") ? 4 : 2, h.Value));
        Assert.All(model.AttentionModules(), a => Assert.Equal(a.Attention.QueryDim, a.Attention.Heads * a.Attention.DimHead));
    }

    [Fact]
    public void Linear_projection_equals_conv_projection_with_the_same_weights()
    {
        using var conv = new UNet2DConditionModel(Tiny());
        using var linear = new UNet2DConditionModel(Tiny(j => j["use_linear_projection"] = true));
        var convWeights = conv.state_dict();
        var linearKeys = linear.state_dict();
        Assert.Equal(convWeights.Keys.Order(), linearKeys.Keys.Order());
        Assert.Contains(linearKeys, p => p.Key.EndsWith("proj_in.weight") && p.Value.dim() == 2);
        using var scope = NewDisposeScope();
        // A 1x1 conv [out, in, 1, 1] is the Linear [out, in].
        var mapped = convWeights.ToDictionary(p => p.Key, p => p.Key.EndsWith("proj_in.weight") || p.Key.EndsWith("proj_out.weight") ? p.Value.flatten(1) : p.Value);
        Checkpoints.StateDictLoader.Load(linear, mapped, "conv model");
        var gen = new Generator(3);
        var sample = randn(new long[] { 2, 4, 8, 6 }, generator: gen);
        var text = randn(new long[] { 2, 5, 12 }, generator: gen);
        var t = tensor(new long[] { 10, 900 });
        using var noGrad = no_grad();
        TensorAssert.Close(conv.call(sample, t, text), linear.call(sample, t, text), 1e-5);
    }

    [Fact]
    public void Latents_not_divisible_by_the_downsampling_keep_their_size()
    {
        using var model = new UNet2DConditionModel(Tiny(j =>
        {
            j["block_out_channels"] = new JsonArray(8, 8, 16);
            j["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D");
            j["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D");
        }));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.call(randn(1, 4, 10, 7), tensor(5L), randn(1, 3, 12));
        Assert.Equal(new long[] { 1, 4, 10, 7 }, output.shape);
    }

    [Fact]
    public void Bad_inputs_name_the_argument_and_the_expected_shape()
    {
        using var model = new UNet2DConditionModel(Tiny());
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => model.call(randn(1, 3, 8, 8), tensor(5L), randn(1, 3, 12)));
        Assert.Equal("sample", ex.ParamName);
        Assert.Equal("encoderHiddenStates", Assert.Throws<ArgumentException>(() => model.call(randn(1, 4, 8, 8), tensor(5L), randn(1, 3, 7))).ParamName);
        Assert.Equal("timestep", Assert.Throws<ArgumentException>(() => model.call(randn(2, 4, 8, 8), tensor(new long[] { 1, 2, 3 }), randn(2, 3, 12))).ParamName);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => model.call(randn(1, 4, 8, 8, dtype: ScalarType.Float64), tensor(5L), randn(1, 3, 12))).ParamName);
    }
}
