using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Finding and reading weight files: safetensors by default; pickle checkpoints (recognised by
/// extension or by their zip / pickle byte signature) only through a caller-supplied
/// <see cref="IPickleCheckpointLoader"/>.
/// </summary>
public static class CheckpointFiles
{
    /// <summary>Extensions of PyTorch pickle checkpoints.</summary>
    public static readonly IReadOnlyList<string> PickleExtensions = [".bin", ".ckpt", ".pt", ".pth"];

    /// <summary>Why <paramref name="path"/> is a pickle checkpoint, or null when it is not one.</summary>
    public static string? PickleReason(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (PickleExtensions.Contains(extension)) return $"extension '{extension}'";
        if (!File.Exists(path)) return null;
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        int read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4)
            return "zip signature 'PK\\x03\\x04' of torch.save";
        if (read >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
            return $"pickle protocol {head[1]} signature";
        return null;
    }

    /// <summary>
    /// Reads every tensor of a checkpoint (CPU, the file's dtypes). Safetensors files are read
    /// directly; pickle files only through <see cref="CheckpointReadOptions.PickleLoader"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnsafeCheckpointException">A pickle file without an opt-in loader.</exception>
    /// <exception cref="TailorPO.Core.Safetensors.SafetensorsFormatException">A malformed safetensors file.</exception>
    public static IReadOnlyDictionary<string, Tensor> Read(string path, CheckpointReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"Checkpoint '{full}' does not exist.", full);
        var pickle = PickleReason(full);
        if (pickle is not null)
        {
            var loader = options?.PickleLoader ?? throw new UnsafeCheckpointException(full, pickle);
            return loader.Load(full);
        }
        return SafetensorsFile.LoadAll(full);
    }

    /// <summary>
    /// The first of <paramref name="fileNames"/> present in <paramref name="folder"/>. When none is
    /// there, pickle counterparts (<c>.bin</c>) are used only with an opt-in loader; otherwise the
    /// error names what was found and how to convert it.
    /// </summary>
    /// <exception cref="FileNotFoundException">No usable weight file.</exception>
    /// <exception cref="UnsafeCheckpointException">Only pickle weights, and no opt-in loader.</exception>
    public static string FindWeights(string folder, IReadOnlyList<string> fileNames, CheckpointReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(fileNames);
        foreach (var name in fileNames)
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var name in fileNames)
        {
            var pickle = Path.Combine(folder, Path.ChangeExtension(name, ".bin"));
            if (!File.Exists(pickle)) continue;
            if (options?.PickleLoader is null) throw new UnsafeCheckpointException(pickle, "extension '.bin'");
            return pickle;
        }
        throw new FileNotFoundException(
            $"'{folder}' holds none of the weight files {string.Join(", ", fileNames)}.", Path.Combine(folder, fileNames[0]));
    }

    /// <summary>
    /// Streams <paramref name="path"/> (a safetensors file, a sharded <c>*.safetensors.index.json</c>, or
    /// pickle through the opt-in loader) into <paramref name="module"/> with full name and shape checks made
    /// from the headers before anything is read (LoRA adapter keys of the module may be absent), one tensor
    /// at a time, converting dtypes on copy.
    /// </summary>
    public static void LoadInto(nn.Module module, string path, CheckpointReadOptions? options = null,
        Func<string, bool>? ignoreKey = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var source = TensorSource.Open(path, options);
        StateDictLoader.Load(module, source, ignoreKey, IsAdapterKey);
    }

    /// <summary>True for the keys of LoRA adapters inside a module (never part of base checkpoints).</summary>
    public static bool IsAdapterKey(string key) => key.Contains(".lora_A.", StringComparison.Ordinal) || key.Contains(".lora_B.", StringComparison.Ordinal)
        || key.StartsWith("lora_A.", StringComparison.Ordinal) || key.StartsWith("lora_B.", StringComparison.Ordinal);
}
