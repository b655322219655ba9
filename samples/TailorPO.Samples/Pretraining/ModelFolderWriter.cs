using System.Text.Json.Nodes;
using System.Text.Json;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Samples.Pretraining;

/// <summary>
/// Writes a pixel-space diffusers Stable Diffusion folder (model_index.json, unet/, text_encoder/,
/// tokenizer/, scheduler/; no vae/) that <c>StableDiffusionPipeline.FromPretrained</c> loads. The folder
/// is assembled under a temporary name next to the target and swapped in, so a crash never leaves a
/// half-written model.
/// </summary>
public static class ModelFolderWriter
{
    /// <summary>The tokenizer files copied from the source tokenizer folder.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles = ClipTokenizerFolder.Files;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes the folder.</summary>
    /// <param name="folder">Target folder (replaced when it exists).</param>
    /// <param name="design">The architecture (configs).</param>
    /// <param name="tokenizerFolder">Folder holding vocab.json and merges.txt.</param>
    /// <param name="unetWeights">UNet state dict (diffusers keys).</param>
    /// <param name="textEncoderWeights">Text encoder state dict (transformers keys).</param>
    /// <param name="dtype">dtype stored on disk (float16 keeps the folder small).</param>
    /// <param name="metadata">Extra safetensors metadata (e.g. the seed and step).</param>
    public static void Write(string folder, TinyModelDesign design, string tokenizerFolder,
        IReadOnlyDictionary<string, Tensor> unetWeights, IReadOnlyDictionary<string, Tensor> textEncoderWeights,
        ScalarType dtype = ScalarType.Float16, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(design);
        var target = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            WriteJson(Path.Combine(staging, "model_index.json"), TinyModelDesign.ModelIndex());

            var unet = Directory.CreateDirectory(Path.Combine(staging, "unet")).FullName;
            WriteJson(Path.Combine(unet, "config.json"), design.UNetConfig());
            SaveWeights(Path.Combine(unet, "diffusion_pytorch_model.safetensors"), unetWeights, dtype, metadata);

            var text = Directory.CreateDirectory(Path.Combine(staging, "text_encoder")).FullName;
            WriteJson(Path.Combine(text, "config.json"), design.TextEncoderConfig());
            SaveWeights(Path.Combine(text, "model.safetensors"), textEncoderWeights, dtype, metadata);

            var tokenizer = Directory.CreateDirectory(Path.Combine(staging, "tokenizer")).FullName;
            ClipTokenizerFolder.Write(tokenizer, tokenizerFolder, design.MaxTokens);

            var scheduler = Directory.CreateDirectory(Path.Combine(staging, "scheduler")).FullName;
            WriteJson(Path.Combine(scheduler, "scheduler_config.json"), design.SchedulerConfig());

            Swap(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Moves <paramref name="staging"/> to <paramref name="target"/>, replacing it (the old folder is removed last).</summary>
    internal static void Swap(string staging, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.old-{Guid.NewGuid():N}");
            Directory.Move(target, old);
        }
        Directory.Move(staging, target);
        if (old is not null) Directory.Delete(old, recursive: true);
    }

    private static void SaveWeights(string path, IReadOnlyDictionary<string, Tensor> weights, ScalarType dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        using var scope = NewDisposeScope();
        var converted = weights.ToDictionary(p => p.Key, p => p.Value.detach().to(dtype).cpu().contiguous());
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null)
            foreach (var (key, value) in metadata) meta[key] = value;
        SafetensorsWriter.Save(path, converted, meta);
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(Indented) + "\n");
}
