using System.Globalization;
using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Lora;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.UNet;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Lora;

/// <summary>
/// Issue 11, item 10: a LoRA file with NaN or infinite weights is refused at load (it poisoned the
/// UNet), a lora_alpha given as a string in the PEFT metadata is refused explicitly (it was ignored,
/// silently halving the scale), and alpha problems are listed as invalid values, not as wrong shapes.
/// </summary>
public sealed class LoraFileValueTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-lora-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string FixtureLora => FixtureRoot.Combine("unet", "lora", "pytorch_lora_weights.safetensors");

    /// <summary>A copy of the fixture LoRA file with its tensors and metadata edited.</summary>
    private string EditedCopy(string name, Action<Dictionary<string, Tensor>>? tensors = null, Action<Dictionary<string, string>>? metadata = null)
    {
        using var file = SafetensorsFile.Open(FixtureLora);
        var weights = file.ReadAll();
        try
        {
            var meta = file.Metadata.ToDictionary(p => p.Key, p => p.Value);
            tensors?.Invoke(weights);
            metadata?.Invoke(meta);
            var path = Path.Combine(_folder, name);
            SafetensorsWriter.Save(path, weights, meta);
            return path;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static UNet2DConditionModel FreshUNet() => UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));

    [Fact]
    public void NaN_and_infinite_weights_are_refused_naming_each_key_and_the_unet_is_untouched()
    {
        string nanKey = "", infKey = "";
        var path = EditedCopy("nan.safetensors", tensors =>
        {
            var keys = tensors.Keys.Order(StringComparer.Ordinal).ToList();
            nanKey = keys.First(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal));
            infKey = keys.Last(k => k.EndsWith(".lora_B.weight", StringComparison.Ordinal));
            var a = tensors[nanKey].clone();
            a.view(-1)[1] = double.NaN;
            tensors[nanKey] = a;
            var b = tensors[infKey].clone();
            b.view(-1)[0] = double.PositiveInfinity;
            b.view(-1)[2] = double.NegativeInfinity;
            tensors[infKey] = b;
        });
        using var unet = FreshUNet();
        using var before = NewDisposeScope();
        var reference = unet.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var error = Assert.Throws<StateDictMismatchException>(() => LoraAdapter.FromFile(unet, path));
        Assert.Contains(path, error.Message);
        Assert.Empty(error.MisShapedKeys);
        Assert.Contains(error.InvalidValues, v => v.StartsWith(nanKey, StringComparison.Ordinal) && v.Contains("1 of", StringComparison.Ordinal));
        Assert.Contains(error.InvalidValues, v => v.StartsWith(infKey, StringComparison.Ordinal) && v.Contains("2 of", StringComparison.Ordinal));
        Assert.Contains("Invalid values (2)", error.Message);
        foreach (var (key, value) in unet.state_dict())
            Assert.Equal(0.0, TensorAssert.MaxAbsDifference(reference[key], value));
    }

    [Fact]
    public void A_lora_alpha_written_as_a_string_in_the_peft_metadata_is_refused_explicitly()
    {
        string key = "";
        var path = EditedCopy("string-alpha.safetensors", metadata: meta =>
        {
            var peft = JsonNode.Parse(meta["lora_adapter_metadata"])!.AsObject();
            key = peft.Select(p => p.Key).First(k => k.EndsWith("lora_alpha", StringComparison.Ordinal));
            peft[key] = peft[key]!.GetValue<double>().ToString(CultureInfo.InvariantCulture);
            meta["lora_adapter_metadata"] = peft.ToJsonString();
            meta.Remove("lora_alpha");
        });
        using var unet = FreshUNet();
        var error = Assert.Throws<SafetensorsFormatException>(() => LoraAdapter.FromFile(unet, path));
        Assert.Contains(path, error.Message);
        Assert.Contains(key, error.Message);
        Assert.Contains("must be a number", error.Message);
    }

    [Fact]
    public void Top_level_and_peft_alphas_that_disagree_are_refused()
    {
        var path = EditedCopy("disagree.safetensors", metadata: meta =>
            meta["lora_alpha"] = (double.Parse(meta["lora_alpha"], CultureInfo.InvariantCulture) * 2).ToString(CultureInfo.InvariantCulture));
        using var unet = FreshUNet();
        Assert.Contains("disagrees", Assert.Throws<SafetensorsFormatException>(() => LoraAdapter.FromFile(unet, path)).Message);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(0.0)]
    [InlineData(double.NaN)]
    public void A_bad_per_layer_alpha_is_listed_as_an_invalid_value_not_a_wrong_shape(double alpha)
    {
        string layer = "";
        var path = EditedCopy("layer-alpha.safetensors", tensors =>
        {
            var aKey = tensors.Keys.Order(StringComparer.Ordinal).First(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal));
            layer = aKey[..^".lora_A.weight".Length];
            tensors[layer + ".alpha"] = tensor(alpha, ScalarType.Float32);
        });
        using var unet = FreshUNet();
        var error = Assert.Throws<StateDictMismatchException>(() => LoraAdapter.FromFile(unet, path));
        Assert.Empty(error.MisShapedKeys);
        Assert.Single(error.InvalidValues);
        Assert.Contains("alpha", error.InvalidValues[0]);
        Assert.DoesNotContain("Wrong shape", error.Message);
    }

    [Fact]
    public void A_duplicated_key_in_the_peft_metadata_is_refused_naming_file_and_key()
    {
        string key = "";
        var path = EditedCopy("dup.safetensors", metadata: meta =>
        {
            var text = meta["lora_adapter_metadata"];
            var peft = JsonNode.Parse(text)!.AsObject();
            key = peft.First().Key;
            var brace = text.IndexOf('{');
            meta["lora_adapter_metadata"] = text[..(brace + 1)] + $"\"{key}\": {peft[key]!.ToJsonString()}," + text[(brace + 1)..];
        });
        using var unet = FreshUNet();
        var error = Assert.Throws<SafetensorsFormatException>(() => LoraAdapter.FromFile(unet, path));
        Assert.Contains(path, error.Message);
        Assert.Contains($"'{key}' appears twice", error.Message);
    }

    [Fact]
    public void DoRA_asked_for_in_the_peft_metadata_is_refused_naming_the_file_and_the_flag()
    {
        string key = "";
        var path = EditedCopy("dora.safetensors", metadata: meta =>
        {
            var peft = JsonNode.Parse(meta["lora_adapter_metadata"])!.AsObject();
            key = peft.Select(p => p.Key).First(k => k.EndsWith("use_dora", StringComparison.Ordinal));
            peft[key] = true;
            meta["lora_adapter_metadata"] = peft.ToJsonString();
        });
        using var unet = FreshUNet();
        var error = Assert.Throws<ModelConfigException>(() => LoraAdapter.FromFile(unet, path));
        Assert.Contains(path, error.Message);
        Assert.Contains(key, error.Message);
        Assert.Contains("DoRA", error.Message);
    }

    [Fact]
    public void The_unedited_fixture_still_loads()
    {
        using var unet = FreshUNet();
        var adapter = LoraAdapter.FromFile(unet, EditedCopy("same.safetensors"));
        Assert.NotNull(adapter);
    }
}
