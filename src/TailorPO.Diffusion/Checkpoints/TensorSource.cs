using TailorPO.Core.Json;
using TailorPO.Core.Safetensors;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Checkpoints;

/// <summary>
/// Named tensors whose shapes are known before any of them is read (from safetensors headers), read
/// one at a time: what every model loader streams from. Implementations: one safetensors file, the
/// shards of a <c>*.safetensors.index.json</c>, tensors already in memory (pickle opt-in), and a renamed
/// view of another source (legacy names, single-file LDM checkpoints).
/// </summary>
internal abstract class TensorSource : IDisposable
{
    /// <summary>Where the tensors come from, for messages (a file path, or several).</summary>
    public abstract string Description { get; }

    /// <summary>Every tensor name.</summary>
    public abstract IReadOnlyCollection<string> Keys { get; }

    /// <summary>True when the source holds <paramref name="key"/>.</summary>
    public abstract bool Contains(string key);

    /// <summary>The shape of a tensor, known without reading it.</summary>
    public abstract long[] ShapeOf(string key);

    /// <summary>Reads one tensor onto the CPU; the caller owns (and disposes) it.</summary>
    public abstract Tensor Read(string key);

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    /// <summary>Opens a weight file: safetensors, a sharded index (<c>*.index.json</c>), or pickle through the opt-in loader.</summary>
    public static TensorSource Open(string path, CheckpointReadOptions? options)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"Checkpoint '{full}' does not exist.", full);
        if (full.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return ShardedSafetensorsSource.Open(full); // x.safetensors.index[.variant].json
        var pickle = CheckpointFiles.PickleReason(full);
        if (pickle is null) return new SafetensorsSource(SafetensorsFile.Open(full));
        var loader = options?.PickleLoader ?? throw new UnsafeCheckpointException(full, pickle);
        return new DictionarySource(loader.Load(full), full, owns: true);
    }
}

/// <summary>One safetensors file (owned).</summary>
internal sealed class SafetensorsSource(SafetensorsFile file) : TensorSource
{
    public override string Description => file.FilePath;

    public override IReadOnlyCollection<string> Keys => file.Names;

    public override bool Contains(string key) => file.Contains(key);

    public override long[] ShapeOf(string key) => file.Entries[key].Shape;

    public override Tensor Read(string key) => file.Read(key);

    public override void Dispose() => file.Dispose();
}

/// <summary>Tensors already in memory (e.g. from an opt-in pickle loader).</summary>
internal sealed class DictionarySource(IReadOnlyDictionary<string, Tensor> tensors, string description, bool owns) : TensorSource
{
    public override string Description => description;

    public override IReadOnlyCollection<string> Keys => tensors.Keys.ToList();

    public override bool Contains(string key) => tensors.ContainsKey(key);

    public override long[] ShapeOf(string key) => tensors[key].shape;

    // An alias: disposing it leaves the dictionary's tensor alive.
    public override Tensor Read(string key) => tensors[key].alias();

    public override void Dispose()
    {
        if (!owns) return;
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }
}

/// <summary>How one tensor of a renamed view is made: its name in the inner source, its shape, and an optional reshape.</summary>
/// <param name="SourceKey">The name in the inner source.</param>
/// <param name="Shape">The shape after <paramref name="Reshape"/>.</param>
/// <param name="Reshape">True when the stored tensor is reshaped to <paramref name="Shape"/> (e.g. a 1x1 convolution kernel read as a linear weight).</param>
/// <param name="Transform">
/// Null, or a function making the tensor of <paramref name="Shape"/> from the stored one (a slice of a fused
/// projection, a transposed matrix); it returns a new tensor and the stored one is disposed after it.
/// </param>
/// <param name="SourceShape">The stored tensor's shape that <paramref name="Transform"/> expects (null: no transform).</param>
internal sealed record TensorMapping(string SourceKey, long[] Shape, bool Reshape = false, Func<Tensor, Tensor>? Transform = null,
    long[]? SourceShape = null);

/// <summary>
/// A renamed view of another source: each key maps to a key of the inner source (optionally reshaped).
/// <see cref="Leftovers"/> are inner keys the mapping did not use and that are not declared foreign:
/// the loader reports them as unexpected, under their own names.
/// </summary>
internal sealed class MappedSource(TensorSource inner, IReadOnlyDictionary<string, TensorMapping> map, IReadOnlyList<string> leftovers,
    bool ownsInner = true) : TensorSource
{
    public override string Description => inner.Description;

    public override IReadOnlyCollection<string> Keys => [.. map.Keys, .. leftovers];

    /// <summary>Inner keys nothing maps to (reported as unexpected by their inner name).</summary>
    public IReadOnlyList<string> Leftovers => leftovers;

    /// <summary>The keys this view changes: (inner key, key seen here, reshaped), for the loaders' log.</summary>
    public IEnumerable<(string From, string To, bool Reshaped)> Conversions =>
        map.Where(entry => entry.Key != entry.Value.SourceKey || entry.Value.Reshape || entry.Value.Transform is not null)
            .Select(entry => (entry.Value.SourceKey, entry.Key, entry.Value.Reshape || entry.Value.Transform is not null))
            .OrderBy(conversion => conversion.Key, StringComparer.Ordinal);

    public override bool Contains(string key) => map.ContainsKey(key) || leftovers.Contains(key);

    /// <summary>
    /// A view of <paramref name="file"/> (not owned) through <paramref name="map"/> that shows every key of the file
    /// the map does not use under its own name. A mapped key whose stored tensor is absent stays absent (the loader
    /// lists it as missing); a stored tensor of another shape than its mapping expects is reported under its own
    /// name before anything is read.
    /// </summary>
    /// <exception cref="StateDictMismatchException">A stored tensor has the wrong shape.</exception>
    public static MappedSource Over(TensorSource file, IReadOnlyDictionary<string, TensorMapping> map, string moduleName, Func<string, bool>? hidden = null)
    {
        var present = map.Where(entry => file.Contains(entry.Value.SourceKey)).ToDictionary(StringComparer.Ordinal);
        var misShaped = present.Values.DistinctBy(m => m.SourceKey)
            .Where(m => !file.ShapeOf(m.SourceKey).SequenceEqual(m.SourceShape ?? m.Shape))
            .Select(m => $"{m.SourceKey}: checkpoint [{string.Join(", ", file.ShapeOf(m.SourceKey))}] vs config [{string.Join(", ", m.SourceShape ?? m.Shape)}]")
            .Order(StringComparer.Ordinal).ToList();
        if (misShaped.Count > 0) throw new StateDictMismatchException(file.Description, moduleName, [], [], misShaped);
        var used = map.Values.Select(m => m.SourceKey).ToHashSet(StringComparer.Ordinal);
        var leftovers = file.Keys.Where(k => !used.Contains(k) && (hidden is null || !hidden(k))).Order(StringComparer.Ordinal).ToList();
        return new MappedSource(file, present, leftovers, ownsInner: false);
    }

    public override long[] ShapeOf(string key) => map.TryGetValue(key, out var m) ? m.Shape : inner.ShapeOf(key);

    public override Tensor Read(string key)
    {
        if (!map.TryGetValue(key, out var m)) return inner.Read(key);
        var tensor = inner.Read(m.SourceKey);
        if (m.Transform is not null)
        {
            using (tensor) return m.Transform(tensor);
        }
        if (!m.Reshape) return tensor;
        var reshaped = tensor.reshape(m.Shape).clone();
        tensor.Dispose();
        return reshaped;
    }

    public override void Dispose()
    {
        if (ownsInner) inner.Dispose();
    }
}

/// <summary>
/// A sharded checkpoint: <c>diffusion_pytorch_model.safetensors.index.json</c> (or <c>model.safetensors.index.json</c>)
/// whose <c>weight_map</c> names, for every tensor, the shard file that holds it. Shards must be safetensors
/// files in the index's folder (plain names: no directories); every listed tensor must be in its shard,
/// and no shard may hold a tensor the map does not assign to it.
/// </summary>
internal sealed class ShardedSafetensorsSource : TensorSource
{
    private readonly string _index;
    private readonly Dictionary<string, SafetensorsFile> _shardOf;
    private readonly List<SafetensorsFile> _files;

    private ShardedSafetensorsSource(string index, Dictionary<string, SafetensorsFile> shardOf, List<SafetensorsFile> files)
    {
        _index = index;
        _shardOf = shardOf;
        _files = files;
    }

    public override string Description => $"{_index} ({_files.Count} shards)";

    public override IReadOnlyCollection<string> Keys => _shardOf.Keys;

    public override bool Contains(string key) => _shardOf.ContainsKey(key);

    public override long[] ShapeOf(string key) => _shardOf[key].Entries[key].Shape;

    public override Tensor Read(string key) => _shardOf[key].Read(key);

    public override void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    /// <summary>Reads and checks an index and opens its shards (each validated as safetensors).</summary>
    /// <exception cref="ModelConfigException">The index is malformed, names an unusable shard, or disagrees with the shards.</exception>
    /// <exception cref="FileNotFoundException">A shard is missing.</exception>
    /// <exception cref="SafetensorsFormatException">A shard is malformed.</exception>
    public static ShardedSafetensorsSource Open(string index)
    {
        if (!StrictJson.TryParseFile(index, default, out var document, out var problem))
            throw new ModelConfigException(index, problem);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object
                || !root.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != System.Text.Json.JsonValueKind.Object)
                throw new ModelConfigException(index, "a sharded checkpoint index needs a 'weight_map' object of tensor name -> shard file.");
            foreach (var entry in weightMap.EnumerateObject())
            {
                if (entry.Value.ValueKind != System.Text.Json.JsonValueKind.String)
                    throw new ModelConfigException(index, $"'weight_map.{entry.Name}' is a JSON {entry.Value.ValueKind}, expected a shard file name.");
                map[entry.Name] = entry.Value.GetString()!;
            }
        }
        if (map.Count == 0) throw new ModelConfigException(index, "'weight_map' is empty.");

        var folder = Path.GetDirectoryName(index)!;
        var files = new List<SafetensorsFile>();
        try
        {
            var byName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var shard in map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\') || shard.Contains('/'))
                    throw new ModelConfigException(index, $"the shard '{shard}' is not a plain file name in the index's folder.");
                if (!shard.EndsWith(".safetensors", StringComparison.Ordinal))
                    throw new ModelConfigException(index, $"the shard '{shard}' is not a .safetensors file (pickle shards are not read).");
                var path = Path.Combine(folder, shard);
                if (!File.Exists(path)) throw new FileNotFoundException($"'{index}' names the shard '{shard}', which does not exist.", path);
                var file = SafetensorsFile.Open(path);
                files.Add(file);
                byName[shard] = file;
            }

            var problems = new List<string>();
            var shardOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (key, shard) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var file = byName[shard];
                if (!file.Contains(key)) problems.Add($"'{key}' is assigned to '{shard}', which does not hold it");
                else shardOf[key] = file;
            }
            foreach (var (shard, file) in byName)
                foreach (var name in file.Names.Where(n => !map.TryGetValue(n, out var assigned) || assigned != shard))
                    problems.Add(map.TryGetValue(name, out var other)
                        ? $"'{shard}' also holds '{name}', which the index assigns to '{other}'"
                        : $"'{shard}' holds '{name}', which the index does not list");
            if (problems.Count > 0) throw new ModelConfigException(index, problems.Take(20).Append(problems.Count > 20 ? $"... {problems.Count - 20} more" : null).OfType<string>().ToList());
            return new ShardedSafetensorsSource(index, shardOf, files);
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }
}
