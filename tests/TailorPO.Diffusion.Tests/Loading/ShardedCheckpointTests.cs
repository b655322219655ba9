using System.Text.Json.Nodes;
using TailorPO.Diffusion.Checkpoints;
using TailorPO.Diffusion.Clip;
using TailorPO.Core.Safetensors;
using TailorPO.Diffusion.Tests.Support;
using TailorPO.Diffusion.UNet;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Tests.Loading;

/// <summary>
/// Issue 11, item 12: sharded diffusers/transformers checkpoints (<c>*.safetensors.index.json</c> with a
/// <c>weight_map</c>) load exactly as the single file does, and an index that disagrees with its shards
/// is refused naming the index.
/// </summary>
public sealed class ShardedCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-shards-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A copy of a fixture model folder with its weights split into <paramref name="shards"/> files plus an index.</summary>
    private string Shard(string fixture, string weightsName, int shards, string? variant = null, Action<JsonObject, List<string>>? editIndex = null)
    {
        var folder = Path.Combine(_folder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.Copy(FixtureRoot.Combine(fixture, "config.json"), Path.Combine(folder, "config.json"));
        using var scope = NewDisposeScope();
        var tensors = SafetensorsFile.LoadAll(FixtureRoot.Combine(fixture, weightsName));
        var keys = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var stem = Path.GetFileNameWithoutExtension(weightsName) + (variant is null ? "" : "." + variant);
        var map = new JsonObject();
        var names = new List<string>();
        for (int s = 0; s < shards; s++)
        {
            var name = $"{stem}-{s + 1:D5}-of-{shards:D5}.safetensors";
            names.Add(name);
            var part = keys.Where((_, i) => i % shards == s).ToDictionary(k => k, k => tensors[k]);
            SafetensorsWriter.Save(Path.Combine(folder, name), part, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var key in part.Keys) map[key] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = tensors.Values.Sum(t => t.numel() * t.ElementSize) }, ["weight_map"] = map };
        editIndex?.Invoke(index, names);
        var indexName = variant is null ? $"{weightsName}.index.json" : $"{weightsName}.index.{variant}.json";
        File.WriteAllText(Path.Combine(folder, indexName), index.ToJsonString());
        return folder;
    }

    private static void AssertSameTensors(TorchSharp.torch.nn.Module expected, TorchSharp.torch.nn.Module actual)
    {
        var actualTensors = actual.state_dict(); // once, not per key
        foreach (var (key, value) in expected.state_dict())
            Assert.True(value.contiguous().bytes.SequenceEqual(actualTensors[key].contiguous().bytes), $"'{key}' differs");
    }

    [Fact]
    public void A_sharded_unet_and_text_encoder_load_exactly_as_their_single_files()
    {
        using var reference = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        using (var sharded = UNet2DConditionModel.FromPretrained(Shard("unet", "diffusion_pytorch_model.safetensors", 3)))
            AssertSameTensors(reference, sharded);
        using (var fp16 = UNet2DConditionModel.FromPretrained(Shard("unet", "diffusion_pytorch_model.safetensors", 2, variant: "fp16"), variant: "fp16"))
            AssertSameTensors(reference, fp16);

        using var text = CLIPTextModel.FromPretrained(FixtureRoot.Combine("clip_text"));
        using var shardedText = CLIPTextModel.FromPretrained(Shard("clip_text", "model.safetensors", 2));
        AssertSameTensors(text, shardedText);
    }

    [Fact]
    public void An_index_that_disagrees_with_its_shards_is_refused_naming_the_index()
    {
        string Index(string folder) => Path.Combine(folder, "diffusion_pytorch_model.safetensors.index.json");

        // A tensor assigned to a shard that does not hold it.
        var moved = Shard("unet", "diffusion_pytorch_model.safetensors", 2, editIndex: (index, names) =>
        {
            var map = index["weight_map"]!.AsObject();
            var key = map.First(p => p.Value!.GetValue<string>() == names[0]).Key;
            map[key] = names[1];
        });
        var error = Assert.Throws<ModelConfigException>(() => UNet2DConditionModel.FromPretrained(moved));
        Assert.Contains(Index(moved), error.Message);
        Assert.Contains("does not hold it", error.Message);

        // A shard holding a tensor the index does not list.
        var unlisted = Shard("unet", "diffusion_pytorch_model.safetensors", 2, editIndex: (index, _) => index["weight_map"]!.AsObject().Remove(index["weight_map"]!.AsObject().First().Key));
        Assert.Contains("does not list", Assert.Throws<ModelConfigException>(() => UNet2DConditionModel.FromPretrained(unlisted)).Message);

        // A shard outside the folder, and a missing shard.
        var escape = Shard("unet", "diffusion_pytorch_model.safetensors", 2, editIndex: (index, names) =>
        {
            var map = index["weight_map"]!.AsObject();
            map[map.First().Key] = "../" + names[0];
        });
        Assert.Contains("plain file name", Assert.Throws<ModelConfigException>(() => UNet2DConditionModel.FromPretrained(escape)).Message);
        var absent = Shard("unet", "diffusion_pytorch_model.safetensors", 2);
        File.Delete(Directory.GetFiles(absent, "*-00002-of-00002.safetensors").Single());
        Assert.Throws<FileNotFoundException>(() => UNet2DConditionModel.FromPretrained(absent));

        // A duplicated key in the index JSON.
        var duplicate = Shard("unet", "diffusion_pytorch_model.safetensors", 2);
        var text = File.ReadAllText(Index(duplicate));
        File.WriteAllText(Index(duplicate), text.Replace("{\"metadata\"", "{\"weight_map\":{},\"metadata\"", StringComparison.Ordinal));
        Assert.Contains("'weight_map' appears twice", Assert.Throws<ModelConfigException>(() => UNet2DConditionModel.FromPretrained(duplicate)).Message);
    }
}
