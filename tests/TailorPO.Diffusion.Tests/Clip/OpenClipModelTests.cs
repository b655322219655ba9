using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>open_clip's config format and key layout read into the CLIP towers (numerics: the HPSv2 parity tests in Rewards.Tests).</summary>
public class OpenClipModelTests
{
    private static string Folder => FixtureRoot.Combine("hpsv2");

    [Fact]
    public void The_config_translates_open_clip_sizes_and_defaults()
    {
        var config = OpenClipConfig.FromJson("""
            {"embed_dim": 1024, "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
             "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24}}
            """);
        Assert.Equal((1280L, 5120L, 16L, 32L, 14L, "gelu"), (config.Vision.HiddenSize, config.Vision.IntermediateSize,
            config.Vision.NumAttentionHeads, config.Vision.NumHiddenLayers, config.Vision.PatchSize, config.Vision.HiddenAct));
        Assert.Equal((1024L, 4096L, 16L, 24L, 77L), (config.Text.HiddenSize, config.Text.IntermediateSize,
            config.Text.NumAttentionHeads, config.Text.NumHiddenLayers, config.Text.MaxPositionEmbeddings));
        Assert.True(config.Text.UsesLegacyArgmaxPooling);
        Assert.Equal(1024L, config.Vision.ProjectionDim);
        Assert.Equal("quick_gelu", OpenClipConfig.FromJson("""{"embed_dim": 8, "quick_gelu": true, "vision_cfg": {}, "text_cfg": {}}""").Vision.HiddenAct);
    }

    [Theory]
    [InlineData("""{"embed_dim": 8, "vision_cfg": {"timm_model_name": "vit"}, "text_cfg": {}}""", "'timm_model_name'")]
    [InlineData("""{"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"hf_model_name": "roberta"}}""", "'hf_model_name'")]
    [InlineData("""{"embed_dim": 8, "vision_cfg": {"width": 30, "head_width": 8}, "text_cfg": {}}""", "head_width")]
    [InlineData("""{"vision_cfg": {}, "text_cfg": {}}""", "embed_dim")]
    public void Unsupported_or_incomplete_configs_are_refused_by_name(string json, string named)
    {
        var error = Assert.Throws<ModelConfigException>(() => OpenClipConfig.FromJson(json));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void A_weight_file_missing_a_key_or_with_a_fused_projection_of_the_wrong_shape_is_reported_by_open_clip_name()
    {
        using var scope = NewDisposeScope();
        var config = OpenClipConfig.FromFile(Path.Combine(Folder, OpenClipModel.ConfigFileName));
        var weights = SafetensorsFile.LoadAll(Path.Combine(Folder, OpenClipModel.WeightsFileName));
        var folder = Directory.CreateTempSubdirectory("tailorpo-openclip-").FullName;
        try
        {
            var broken = new Dictionary<string, Tensor>(weights);
            broken["visual.transformer.resblocks.0.attn.in_proj_weight"] = zeros(5, 32);
            broken.Remove("ln_final.bias");
            var file = Path.Combine(folder, "model.safetensors");
            SafetensorsWriter.Save(file, broken);
            var error = Assert.Throws<StateDictMismatchException>(() => OpenClipModel.Load(config, file));
            Assert.Contains("visual.transformer.resblocks.0.attn.in_proj_weight", error.Message);

            broken["visual.transformer.resblocks.0.attn.in_proj_weight"] = weights["visual.transformer.resblocks.0.attn.in_proj_weight"];
            SafetensorsWriter.Save(file, broken);
            error = Assert.Throws<StateDictMismatchException>(() => OpenClipModel.Load(config, file));
            Assert.Contains("text_model.final_layer_norm.bias", error.Message);

            broken["ln_final.bias"] = weights["ln_final.bias"];
            broken["unexpected.extra"] = zeros(2);
            SafetensorsWriter.Save(file, broken);
            error = Assert.Throws<StateDictMismatchException>(() => OpenClipModel.Load(config, file));
            Assert.Contains("unexpected.extra", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            foreach (var tensor in weights.Values) tensor.Dispose();
        }
    }
}
