using System.Text.Json.Nodes;
using TailorPO.Core.Safetensors;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Clip;

/// <summary>
/// A temporary transformers CLIPModel folder assembled from the fixtures' tiny vision tower
/// (aesthetic/) and text tower (clip_text/), with a seeded text projection into the vision
/// tower's joint dimension and a chosen logit_scale.
/// </summary>
internal sealed class ClipModelFolder : IDisposable
{
    public ClipModelFolder(double logitScale)
    {
        LogitScale = logitScale;
        Path = Directory.CreateTempSubdirectory("tailorpo-clipmodel-").FullName;
        var vision = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("aesthetic", "config.json")))!.AsObject();
        var text = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("clip_text", "config.json")))!.AsObject();
        var projection = vision["projection_dim"]!.GetValue<long>();
        text["projection_dim"] = projection;
        var config = new JsonObject
        {
            ["model_type"] = "clip",
            ["projection_dim"] = projection,
            ["text_config"] = text.DeepClone(),
            ["vision_config"] = vision.DeepClone(),
        };
        File.WriteAllText(System.IO.Path.Combine(Path, "config.json"), config.ToJsonString());
        File.Copy(FixtureRoot.Combine("aesthetic", "preprocessor_config.json"), System.IO.Path.Combine(Path, "preprocessor_config.json"));

        var weights = SafetensorsFile.LoadAll(FixtureRoot.Combine("aesthetic", "model.safetensors"));
        foreach (var (key, value) in SafetensorsFile.LoadAll(FixtureRoot.Combine("clip_text", "model.safetensors")))
            weights[key] = value;
        using var generator = new Generator(23);
        var hidden = text["hidden_size"]!.GetValue<long>();
        weights["text_projection.weight"] = randn([projection, hidden], generator: generator) / Math.Sqrt(hidden);
        weights["logit_scale"] = tensor((float)logitScale);
        SafetensorsWriter.Save(System.IO.Path.Combine(Path, "model.safetensors"), weights);
        foreach (var value in weights.Values) value.Dispose();
        VocabSize = text["vocab_size"]!.GetValue<long>();
        TokenizerPath = WriteTokenizerFolder(System.IO.Path.Combine(Path, "tokenizer"), VocabSize);
    }

    /// <summary>
    /// A CLIP tokenizer folder that fits the tiny text tower: the fixture tokenizer's 512 byte symbols
    /// and its first merges (their ids unchanged), then its two special tokens, below vocab_size.
    /// </summary>
    public string TokenizerPath { get; }

    public string Path { get; }

    public double LogitScale { get; }

    public long VocabSize { get; }

    /// <summary>A toy tokenizer: bos = vocab-2, one id per character, eos = vocab-1, padded with eos to 8.</summary>
    public Tensor Tokenize(IReadOnlyList<string> prompts)
    {
        var ids = new long[prompts.Count, 8];
        for (var b = 0; b < prompts.Count; b++)
        {
            ids[b, 0] = VocabSize - 2;
            var chars = prompts[b].Take(6).ToArray();
            for (var i = 0; i < chars.Length; i++)
                ids[b, i + 1] = 1 + chars[i] % (VocabSize - 3);
            for (var i = chars.Length + 1; i < 8; i++)
                ids[b, i] = VocabSize - 1;
        }
        return tensor(ids);
    }

    private static string WriteTokenizerFolder(string folder, long vocabSize)
    {
        Directory.CreateDirectory(folder);
        const int byteSymbols = 512;
        var mergeCount = (int)vocabSize - byteSymbols - 2;
        var merges = File.ReadLines(FixtureRoot.Combine("tokenizer", "merges.txt")).Take(1 + mergeCount).ToList();
        File.WriteAllLines(System.IO.Path.Combine(folder, "merges.txt"), merges);
        var vocabulary = JsonNode.Parse(File.ReadAllText(FixtureRoot.Combine("tokenizer", "vocab.json")))!.AsObject();
        var kept = new JsonObject();
        foreach (var (token, id) in vocabulary)
        {
            if (id!.GetValue<int>() < byteSymbols + mergeCount)
                kept[token] = id.GetValue<int>();
        }
        kept["<|startoftext|>"] = byteSymbols + mergeCount;
        kept["<|endoftext|>"] = byteSymbols + mergeCount + 1;
        File.WriteAllText(System.IO.Path.Combine(folder, "vocab.json"), kept.ToJsonString());
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
            File.Copy(FixtureRoot.Combine("tokenizer", name), System.IO.Path.Combine(folder, name));
        return folder;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
