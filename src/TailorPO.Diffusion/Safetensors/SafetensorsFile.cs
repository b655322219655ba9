using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Safetensors;

/// <summary>
/// A validated, open safetensors file. The header is parsed and checked completely on open
/// (header bounds, JSON, known dtypes, offsets inside the data section, no overlaps, byte size
/// = shape x dtype size); tensors are then streamed one at a time straight into torch memory,
/// so a file is never held in memory twice.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the format's own reference limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsEntry> _entries;

    private SafetensorsFile(string path, FileStream stream, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _stream = stream;
        _dataStart = dataStart;
        _entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in file order.</summary>
    public IReadOnlyList<string> Names => _entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.Name, StringComparer.Ordinal).Select(e => e.Name).ToList();

    /// <summary>All header entries by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries => _entries;

    /// <summary>True when the file holds a tensor of that name.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SafetensorsFormatException">The file is malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"Safetensors file '{fullPath}' does not exist.", fullPath);

        var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var (dataStart, entries, metadata) = ReadHeader(fullPath, stream);
            return new SafetensorsFile(fullPath, stream, dataStart, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads every tensor of a file onto the CPU (names as in the file).</summary>
    public static Dictionary<string, Tensor> LoadAll(string path)
    {
        using var file = Open(path);
        return file.ReadAll();
    }

    /// <summary>Reads every tensor (CPU, the file's dtypes).</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in Names) result[name] = Read(name);
        return result;
    }

    /// <summary>Reads one tensor onto the CPU in the file's dtype.</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name (the message lists near names).</exception>
    public Tensor Read(string name)
    {
        if (!_entries.TryGetValue(name, out var entry))
            throw new KeyNotFoundException($"'{FilePath}' has no tensor '{name}'. It holds {_entries.Count} tensors, e.g. {string.Join(", ", Names.Take(5))}.");

        var tensor = empty(entry.Shape, entry.ScalarType);
        try
        {
            if (entry.ByteLength > 0)
            {
                if (entry.ByteLength > int.MaxValue)
                    throw new SafetensorsFormatException(FilePath, $"tensor '{name}' is larger than 2 GiB, which this reader does not support.");
                _stream.Position = _dataStart + entry.Begin;
                // bytes is a view of the tensor's own storage: the file is read straight into it.
                _stream.ReadExactly(tensor.bytes);
            }
            return tensor;
        }
        catch (EndOfStreamException)
        {
            tensor.Dispose();
            throw new SafetensorsFormatException(FilePath, $"the file ended while reading tensor '{name}'.");
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static (long DataStart, Dictionary<string, SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata)
        ReadHeader(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new SafetensorsFormatException(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length.");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength == 0)
            throw new SafetensorsFormatException(path, "the header length is 0.");
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsFormatException(path, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        if ((long)headerLength > fileLength - 8)
            throw new SafetensorsFormatException(path, $"the header length {headerLength} is longer than the rest of the file ({fileLength - 8} bytes); the file may be truncated.");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException(path, $"the header is not valid JSON ({ex.Message}).");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(path, "the header is not a JSON object.");

            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                if (entries.ContainsKey(property.Name))
                    throw new SafetensorsFormatException(path, $"tensor '{property.Name}' appears twice in the header.");
                entries[property.Name] = ReadEntry(path, property.Name, property.Value, dataLength);
            }

            CheckNoOverlap(path, entries.Values);
            return (dataStart, entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, "__metadata__ is not a JSON object of strings.");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(path, $"__metadata__ value '{item.Name}' is not a string.");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, JsonElement element, long dataLength)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, $"the header entry of '{name}' is not an object.");
        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(path, $"tensor '{name}' has no dtype string.");
        var dtype = dtypeElement.GetString()!;
        if (!SafetensorsDType.TryParse(dtype, out var scalarType, out var elementSize))
            throw new SafetensorsFormatException(path, $"tensor '{name}' has unknown dtype '{dtype}' (known: {string.Join(", ", SafetensorsDType.Names)}).");

        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(path, $"tensor '{name}' has no shape array.");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var value) || value < 0)
                throw new SafetensorsFormatException(path, $"tensor '{name}' has an invalid dimension {dim.GetRawText()} in its shape.");
            shape[i++] = value;
        }

        if (!element.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new SafetensorsFormatException(path, $"tensor '{name}' has no [begin, end] data_offsets.");
        var begin = ReadOffset(path, name, offsetsElement[0]);
        var end = ReadOffset(path, name, offsetsElement[1]);
        if (end < begin)
            throw new SafetensorsFormatException(path, $"tensor '{name}' has data_offsets [{begin}, {end}] with end before begin.");
        if (end > dataLength)
            throw new SafetensorsFormatException(path, $"tensor '{name}' ends at byte {end} of the data section, which has only {dataLength} bytes; the file may be truncated.");

        long count = 1;
        try
        {
            foreach (var dim in shape) count = checked(count * dim);
            long expected = checked(count * elementSize);
            if (expected != end - begin)
                throw new SafetensorsFormatException(path, $"tensor '{name}' of dtype {dtype} and shape [{string.Join(", ", shape)}] needs {expected} bytes but its data_offsets span {end - begin}.");
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(path, $"tensor '{name}' has a shape [{string.Join(", ", shape)}] too large to address.");
        }

        return new SafetensorsEntry(name, dtype, scalarType, shape, begin, end);
    }

    private static long ReadOffset(string path, string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var value) || value < 0)
            throw new SafetensorsFormatException(path, $"tensor '{name}' has an invalid data offset {element.GetRawText()}.");
        return value;
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (var entry in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
                throw new SafetensorsFormatException(path, $"tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{entry.Name}' [{entry.Begin}, {entry.End}) overlap.");
            previous = entry;
        }
    }
}
