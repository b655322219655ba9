using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>Config reading: single-tower configs, CLIPConfig sections, defaults, and clear failures.</summary>
public sealed class ClipConfigTests
{
    [Fact]
    public void A_CLIPConfig_gives_each_tower_its_section_and_the_legacy_dict_overrides()
    {
        const string json = """
            {"model_type": "clip", "projection_dim": 24,
             "text_config": {"hidden_size": 64, "num_attention_heads": 4, "eos_token_id": 2, "hidden_act": "gelu"},
             "text_config_dict": {"hidden_size": 48},
             "vision_config": {"hidden_size": 40, "num_attention_heads": 5, "image_size": 16, "patch_size": 4, "projection_dim": 12}}
            """;
        var text = CLIPTextConfig.FromJson(json);
        Assert.Equal(48, text.HiddenSize);
        Assert.Equal("gelu", text.HiddenAct);
        Assert.Equal(24, text.ProjectionDim);
        Assert.True(text.UsesLegacyArgmaxPooling);
        Assert.Equal(new CLIPTextConfig().VocabSize, text.VocabSize);

        var vision = CLIPVisionConfig.FromJson(json);
        Assert.Equal(40, vision.HiddenSize);
        Assert.Equal(12, vision.ProjectionDim);
        Assert.Equal(17, vision.NumPositions);
    }

    [Theory]
    [InlineData("""{"hidden_act": "mish"}""", "hidden_act")]
    [InlineData("""{"hidden_size": 30, "num_attention_heads": 4}""", "num_attention_heads")]
    [InlineData("""{"hidden_size": "wide"}""", "hidden_size")]
    [InlineData("""{"num_hidden_layers": 0}""", "num_hidden_layers")]
    [InlineData("""{"model_type": "clip_vision_model"}""", "model_type")]
    [InlineData("""[1, 2]""", "object")]
    [InlineData("""{"vocab_size": 10""", "JSON")]
    public void A_bad_text_config_fails_naming_the_key(string json, string named)
    {
        var error = Assert.Throws<ModelConfigException>(() => CLIPTextConfig.FromJson(json, "test.json"));
        Assert.Contains(named, error.Message);
        Assert.Contains("test.json", error.Message);
    }

    [Fact]
    public void A_vision_image_size_that_patches_do_not_tile_fails()
    {
        var error = Assert.Throws<ModelConfigException>(() => CLIPVisionConfig.FromJson("""{"image_size": 30, "patch_size": 8}"""));
        Assert.Contains("patch_size", error.Message);
    }

    [Fact]
    public void The_SD_v15_preset_has_the_text_encoder_shape_and_legacy_pooling()
    {
        var sd = CLIPTextConfig.StableDiffusionV15;
        Assert.Equal((768L, 12L, 12L, 77L, 49408L), (sd.HiddenSize, sd.NumHiddenLayers, sd.NumAttentionHeads, sd.MaxPositionEmbeddings, sd.VocabSize));
        Assert.True(sd.UsesLegacyArgmaxPooling);
        using var model = new CLIPTextModel(sd with { NumHiddenLayers = 1 });
        Assert.Contains("text_model.encoder.layers.0.self_attn.q_proj.weight", model.state_dict().Keys);
    }
}
