using System.Text.Json;
using System.Text.Json.Nodes;

namespace TailorPO.Samples.Pretraining;

/// <summary>
/// The CLIP tokenizer files of a folder the CLI writes (the diffusion model's tokenizer/ and the preference model's
/// folder): the BPE vocabulary and merges copied, and the transformers CLIPTokenizer configuration written for a context
/// length, so both models tokenize exactly as the library's <c>ClipTokenizer</c> and transformers do.
/// </summary>
public static class ClipTokenizerFolder
{
    /// <summary>The BPE files copied from a tokenizer folder.</summary>
    public static readonly IReadOnlyList<string> Files = ["vocab.json", "merges.txt"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>tokenizer_config.json of a CLIPTokenizer with <paramref name="maxTokens"/> as model_max_length.</summary>
    public static JsonObject Config(int maxTokens) => new()
    {
        ["tokenizer_class"] = "CLIPTokenizer",
        ["model_max_length"] = maxTokens,
        ["do_lower_case"] = true,
        ["errors"] = "replace",
        ["bos_token"] = "<|startoftext|>",
        ["eos_token"] = "<|endoftext|>",
        ["pad_token"] = "<|endoftext|>",
        ["unk_token"] = "<|endoftext|>",
        ["add_prefix_space"] = false,
    };

    /// <summary>Copies <see cref="Files"/> from <paramref name="source"/> and writes tokenizer_config.json and special_tokens_map.json into <paramref name="target"/>.</summary>
    public static void Write(string target, string source, int maxTokens)
    {
        foreach (var file in Files)
            File.Copy(Path.Combine(source, file), Path.Combine(target, file));
        WriteJson(Path.Combine(target, "tokenizer_config.json"), Config(maxTokens));
        WriteJson(Path.Combine(target, "special_tokens_map.json"), new JsonObject
        {
            ["bos_token"] = "<|startoftext|>",
            ["eos_token"] = "<|endoftext|>",
            ["pad_token"] = "<|endoftext|>",
            ["unk_token"] = "<|endoftext|>",
        });
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(Indented) + "\n");
}
