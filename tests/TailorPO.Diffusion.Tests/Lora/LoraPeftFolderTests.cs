using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Lora;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>
/// A PEFT adapter folder (PeftModel.save_pretrained) keeps r, lora_alpha and the patterns only in
/// adapter_config.json: they are read from there, what cannot be honoured is refused by name, and weights that
/// need a config and have none are refused instead of loading at the wrong scale.
/// </summary>
public sealed class LoraPeftFolderTests : IDisposable
{
    private static readonly LoraLayoutFixture Fixture = LoraLayoutFixture.Load();
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-peft-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string PeftFolder => Fixture.Layouts.First(l => l.Format == LoraFileFormat.Peft && Directory.Exists(l.Path)).Path;

    /// <summary>A copy of the fixture PEFT folder, its adapter_config.json edited (or removed when the edit returns null).</summary>
    private string EditedCopy(string name, Func<JsonObject, JsonObject?> edit)
    {
        var target = Path.Combine(_folder, name);
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(PeftFolder, LoraFile.PeftWeightsFileName), Path.Combine(target, LoraFile.PeftWeightsFileName));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(PeftFolder, LoraFile.PeftConfigFileName)))!.AsObject();
        var edited = edit(config);
        if (edited is not null) File.WriteAllText(Path.Combine(target, LoraFile.PeftConfigFileName), edited.ToJsonString());
        return target;
    }

    [Theory]
    [InlineData("use_dora", "DoRA")]
    [InlineData("use_rslora", "rsLoRA")]
    [InlineData("lora_bias", "bias")]
    public void A_config_asking_for_what_the_layer_does_not_implement_is_refused_by_name(string flag, string named)
    {
        var folder = EditedCopy(flag, c => { c[flag] = true; return c; });
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<ModelConfigException>(() => LoraAdapter.FromFile(model, folder));
        Assert.Contains(flag, error.Message);
        Assert.Contains(named, error.Message);
        Assert.Contains(LoraFile.PeftConfigFileName, error.Message);
        Assert.DoesNotContain(model.named_modules(), m => m.module is LoraLinear { HasAdapter: true });
    }

    [Fact]
    public void The_weights_file_alone_reads_the_config_beside_it_like_the_folder()
    {
        using var model = Fixture.FreshUNet();
        var layers = LoraLayoutFixture.AdaptableLayers(model);
        using var fromFolder = LoraFile.Read(PeftFolder, layers);
        using var fromFile = LoraFile.Read(Path.Combine(PeftFolder, LoraFile.PeftWeightsFileName), layers);
        Assert.Equal(fromFolder.Layers.Keys.Order(StringComparer.Ordinal), fromFile.Layers.Keys.Order(StringComparer.Ordinal));
        foreach (var (layer, weights) in fromFolder.Layers)
            Assert.Equal(weights.Alpha, fromFile.Layers[layer].Alpha);
    }

    [Fact]
    public void Alphas_and_ranks_follow_lora_alpha_r_and_the_patterns_of_the_config()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(PeftFolder, LoraFile.PeftConfigFileName)))!.AsObject();
        double alpha = config["lora_alpha"]!.GetValue<double>();
        int r = config["r"]!.GetValue<int>();
        var rankPattern = config["rank_pattern"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
        var alphaPattern = config["alpha_pattern"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<double>());
        Assert.NotEqual(alpha, r);
        Assert.NotEmpty(rankPattern);
        Assert.NotEmpty(alphaPattern);
        using var model = Fixture.FreshUNet();
        using var contents = LoraFile.Read(PeftFolder, LoraLayoutFixture.AdaptableLayers(model));
        // PEFT's rule: a pattern key names the module path or a '.'-separated suffix of it.
        static bool Names(string key, string path) => path == key || path.EndsWith("." + key, StringComparison.Ordinal);
        foreach (var (path, weights) in contents.Layers)
        {
            Assert.Equal(rankPattern.Where(p => Names(p.Key, path)).Select(p => (int?)p.Value).FirstOrDefault() ?? r, weights.Rank);
            Assert.Equal(alphaPattern.Where(p => Names(p.Key, path)).Select(p => (double?)p.Value).FirstOrDefault() ?? alpha, weights.Alpha);
        }
        Assert.Contains(contents.Layers.Values, w => w.Rank != r);
        Assert.Contains(contents.Layers.Values, w => w.Alpha != alpha);
    }

    [Fact]
    public void A_config_rank_that_the_weights_do_not_have_is_a_shape_mismatch()
    {
        var folder = EditedCopy("rank", c => { c["r"] = c["r"]!.GetValue<int>() * 2; return c; });
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<StateDictMismatchException>(() => LoraAdapter.FromFile(model, folder));
        Assert.NotEmpty(error.MisShapedKeys);
        Assert.All(error.MisShapedKeys, k => Assert.Contains("rank_pattern", k));
    }

    [Fact]
    public void A_pattern_key_that_is_no_regular_expression_is_refused_naming_it()
    {
        var folder = EditedCopy("regex", c => { c["alpha_pattern"] = new JsonObject { ["attn2.to_k["] = 3.0 }; return c; });
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<ModelConfigException>(() => LoraAdapter.FromFile(model, folder));
        Assert.Contains("attn2.to_k[", error.Message);
        Assert.Contains("regular expression", error.Message);
    }

    [Fact]
    public void Peft_weights_without_their_config_are_refused_rather_than_scaled_by_guess()
    {
        var folder = EditedCopy("no-config", _ => null);
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<SafetensorsFormatException>(() => LoraAdapter.FromFile(model, folder));
        Assert.Contains(LoraFile.PeftConfigFileName, error.Message);
        Assert.Contains("base_model.model.", error.Message);
    }

    [Fact]
    public void A_folder_with_only_a_pickled_adapter_is_refused_naming_the_safe_alternative()
    {
        var folder = Path.Combine(_folder, "pickle");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "adapter_model.bin"), [0x80, 0x02]);
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<SafetensorsFormatException>(() => LoraAdapter.FromFile(model, folder));
        Assert.Contains("adapter_model.bin", error.Message);
        Assert.Contains("safe_serialization", error.Message);
    }

    [Fact]
    public void A_config_that_disagrees_with_the_metadata_of_the_weights_is_refused_as_ambiguous()
    {
        var folder = EditedCopy("ambiguous", c => c);
        var weights = Path.Combine(folder, LoraFile.PeftWeightsFileName);
        using (var file = SafetensorsFile.Open(weights))
        {
            var tensors = file.ReadAll();
            try
            {
                SafetensorsWriter.Save(weights, tensors, new Dictionary<string, string> { ["format"] = "pt", ["lora_alpha"] = "13" });
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        using var model = Fixture.FreshUNet();
        var error = Assert.Throws<ModelConfigException>(() => LoraAdapter.FromFile(model, folder));
        Assert.Contains("ambiguous", error.Message);
    }

    [Fact]
    public void Per_layer_alpha_tensors_in_a_diffusers_file_still_set_that_layers_alpha()
    {
        // Files this library wrote before per-layer values moved into rank_pattern / alpha_pattern carry
        // "unet.<layer>.alpha" tensors; diffusers' kohya conversion names network alphas the same way.
        var source = FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");
        var path = Path.Combine(_folder, "layer-alpha.safetensors");
        string layer;
        using (var file = SafetensorsFile.Open(source))
        {
            var tensors = file.ReadAll();
            try
            {
                var aKey = tensors.Keys.Order(StringComparer.Ordinal).First(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal));
                layer = aKey["unet.".Length..^".lora_A.weight".Length];
                tensors[$"unet.{layer}.alpha"] = tensor(2.5f);
                SafetensorsWriter.Save(path, tensors, file.Metadata.ToDictionary(p => p.Key, p => p.Value));
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        using var model = Fixture.FreshUNet();
        var adapter = LoraAdapter.FromFile(model, path);
        Assert.Equal(2.5, adapter.Layers[layer].Alpha);
        Assert.Contains(adapter.Layers, l => l.Key != layer && l.Value.Alpha != 2.5);
    }
}
