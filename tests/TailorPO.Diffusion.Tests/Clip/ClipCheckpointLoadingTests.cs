using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;
using TailorPO.Diffusion.Tests.Support;

namespace TailorPO.Diffusion.Tests.Clip;

/// <summary>
/// Real-checkpoint layouts load: the <c>position_ids</c> buffer of SD v1.5's text encoder file,
/// a full CLIPModel folder (CLIPConfig + both towers), fp16 variants; wrong files fail with
/// every bad key named.
/// </summary>
public sealed class ClipCheckpointLoadingTests : IDisposable
{
    private readonly FixtureCases _text = FixtureCases.Load(ClipTestSupport.TextFolder, "cases.safetensors");
    private readonly FixtureCases _vision = FixtureCases.Load(ClipTestSupport.VisionFolder, "cases.safetensors");

    [Fact]
    public void Text_file_with_the_position_ids_buffer_loads_and_gives_identical_outputs()
    {
        using var scope = NewDisposeScope();
        using var plain = CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder));
        var positions = plain.Config.MaxPositionEmbeddings;
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.TextFolder, editWeights: w =>
            w["text_model.embeddings.position_ids"] = arange(positions, dtype: ScalarType.Int64).unsqueeze(0));
        using var withBuffer = CLIPTextModel.FromPretrained(folder.Path);
        var ids = _text.Get(_text.CaseNames()[0], "input_ids");
        Assert.True(Parity.BitEqual(plain.forward(ids), withBuffer.forward(ids)));
        Assert.DoesNotContain(withBuffer.state_dict().Keys, k => k.EndsWith("position_ids", StringComparison.Ordinal));
    }

    [Fact]
    public void Unexpected_missing_and_misshaped_keys_are_all_named_in_one_exception()
    {
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.TextFolder, editWeights: w =>
        {
            w["text_model.encoder.layers.0.self_attn.extra.weight"] = zeros(2);
            w.Remove("text_model.final_layer_norm.bias", out var removed);
            removed!.Dispose();
            var old = w["text_model.encoder.layers.1.mlp.fc1.bias"];
            w["text_model.encoder.layers.1.mlp.fc1.bias"] = zeros(old.shape[0] + 1);
            old.Dispose();
        });
        var error = Assert.Throws<StateDictMismatchException>(() => CLIPTextModel.FromPretrained(folder.Path));
        Assert.Equal(["text_model.encoder.layers.0.self_attn.extra.weight"], error.UnexpectedKeys);
        Assert.Equal(["text_model.final_layer_norm.bias"], error.MissingKeys);
        Assert.Single(error.MisShapedKeys);
        Assert.StartsWith("text_model.encoder.layers.1.mlp.fc1.bias", error.MisShapedKeys[0]);
    }

    [Fact]
    public void A_full_CLIPModel_folder_loads_each_tower_and_the_text_projection()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempModelFolder();
        var textConfig = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine(ClipTestSupport.TextFolder, "config.json")))!;
        var visionConfig = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine(ClipTestSupport.VisionFolder, "config.json")))!;
        var textWidth = (long)textConfig["hidden_size"]!;
        var projectionDim = (long)visionConfig["projection_dim"]!;
        textConfig["projection_dim"] = projectionDim;
        var config = new JsonObject
        {
            ["model_type"] = "clip",
            ["projection_dim"] = projectionDim,
            ["text_config"] = textConfig,
            ["vision_config"] = visionConfig,
        };
        File.WriteAllText(folder.File("config.json"), config.ToJsonString());

        var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine(ClipTestSupport.TextFolder, "model.safetensors"));
        foreach (var (k, v) in SafetensorsFile.LoadAll(FixtureRoot.Combine(ClipTestSupport.VisionFolder, "model.safetensors"))) weights[k] = v;
        var projection = randn(projectionDim, textWidth, generator: new Generator(3));
        weights["text_projection.weight"] = projection;
        weights["logit_scale"] = tensor(2.6592f);
        // The buffers real files carry: one id per text position, and per image patch plus the class token.
        var textPositions = (long)textConfig["max_position_embeddings"]!;
        var patchesPerSide = (long)visionConfig["image_size"]! / (long)visionConfig["patch_size"]!;
        weights["text_model.embeddings.position_ids"] = arange(textPositions, dtype: ScalarType.Int64).unsqueeze(0);
        weights["vision_model.embeddings.position_ids"] = arange(patchesPerSide * patchesPerSide + 1, dtype: ScalarType.Int64).unsqueeze(0);
        SafetensorsWriter.Save(folder.File("model.safetensors"), weights);

        var textCase = _text.CaseNames()[0];
        using var text = CLIPTextModel.FromPretrained(folder.Path);
        using var textOut = text.Encode(_text.Get(textCase, "input_ids"));
        var expectedLast = _text.Get(textCase, "expected_last_hidden_state");
        TensorAssert.Close(expectedLast, textOut.LastHiddenState, Parity.Atol(expectedLast));

        using var projected = CLIPTextModelWithProjection.FromPretrained(folder.Path);
        using var projectedOut = projected.Encode(_text.Get(textCase, "input_ids"));
        var expectedPooled = _text.Get(textCase, "expected_pooler_output");
        var expectedEmbeds = expectedPooled.matmul(projection.t());
        TensorAssert.Close(expectedEmbeds, projectedOut.TextEmbeds!, Parity.Atol(expectedEmbeds), what: "text_embeds");

        var visionCase = _vision.CaseNames()[0];
        using var vision = CLIPVisionModelWithProjection.FromPretrained(folder.Path);
        var expectedImage = _vision.Get(visionCase, "image_embeds");
        TensorAssert.Close(expectedImage, vision.forward(_vision.Get(visionCase, "pixel_values")), Parity.Atol(expectedImage));
    }

    [Fact]
    public void An_fp16_variant_file_loads_into_the_requested_dtype()
    {
        using var scope = NewDisposeScope();
        using var folder = ClipTestSupport.CopyModel(ClipTestSupport.VisionFolder);
        var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine(ClipTestSupport.VisionFolder, "model.safetensors"));
        SafetensorsWriter.Save(folder.File("model.fp16.safetensors"),
            weights.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float16)));
        using var model = CLIPVisionModelWithProjection.FromPretrained(folder.Path, ScalarType.Float16, variant: "fp16");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float16, p.dtype));
        var fileValue = weights["visual_projection.weight"].to(ScalarType.Float16);
        Assert.True(Parity.BitEqual(model.state_dict()["visual_projection.weight"], fileValue));
    }

    [Fact]
    public void A_missing_weight_file_names_the_folder_and_what_it_holds()
    {
        using var folder = new TempModelFolder();
        File.Copy(FixtureRoot.Combine(ClipTestSupport.TextFolder, "config.json"), folder.File("config.json"));
        File.WriteAllText(folder.File("pytorch_model.bin"), "x");
        var error = Assert.Throws<FileNotFoundException>(() => CLIPTextModel.FromPretrained(folder.Path));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("convert", error.Message);
    }

    [Fact]
    public void A_vision_folder_is_refused_as_a_text_encoder_with_a_config_error()
    {
        var error = Assert.Throws<ModelConfigException>(() => CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.VisionFolder)));
        var visionConfig = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine(ClipTestSupport.VisionFolder, "config.json")))!;
        Assert.Contains((string)visionConfig["model_type"]!, error.Message);
    }

    [Fact]
    public void Unsupported_weight_dtype_is_rejected_with_the_argument_named()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            CLIPTextModel.FromPretrained(FixtureRoot.Combine(ClipTestSupport.TextFolder), ScalarType.Int32));
        Assert.Equal("dtype", error.ParamName);
    }

    public void Dispose()
    {
        _text.Dispose();
        _vision.Dispose();
    }
}
