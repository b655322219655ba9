using static TorchSharp.torch;

namespace TailorPO.Diffusion.Lora;

/// <summary>A LoRA file read and mapped onto a model's layer paths. Owns its tensors.</summary>
public sealed class LoraFileContents : IDisposable
{
    internal LoraFileContents(string path, LoraFileFormat format, IReadOnlyDictionary<string, LoraLayerWeights> layers,
        IReadOnlyList<string> ignoredKeys, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        Format = format;
        Layers = layers;
        IgnoredKeys = ignoredKeys;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }

    /// <summary>The detected layout.</summary>
    public LoraFileFormat Format { get; }

    /// <summary>Weights by module path (e.g. <c>down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q</c>).</summary>
    public IReadOnlyDictionary<string, LoraLayerWeights> Layers { get; }

    /// <summary>Keys for other models in the same file (e.g. the text encoder's), which were skipped.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; }

    /// <summary>The file's <c>__metadata__</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in Layers.Values)
        {
            layer.A.Dispose();
            layer.B.Dispose();
        }
    }
}
