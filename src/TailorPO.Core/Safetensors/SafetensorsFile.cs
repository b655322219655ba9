using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Core.Safetensors;

/// <summary>
/// A validated, open safetensors file. The header is parsed and checked completely on open by the
/// reference Rust crate's rules (see <c>docs/models-and-checkpoints.md</c>): valid UTF-8 JSON, known
/// dtypes, byte size = shape x dtype size without overflow, and tensor ranges that tile the data
/// section from byte 0 to its end with no hole, overlap or trailing byte. Any violation raises
/// <see cref="SafetensorsFormatException"/> naming the file. Tensors are then streamed one at a time
/// straight into torch memory, so a file is never held in memory twice.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the reference crate's limit, 100 MB).</summary>
    public const long MaxHeaderBytes = SafetensorsHeader.MaxHeaderBytes;

    /// <summary>
    /// Largest single tensor <see cref="Read"/> materialises (2 GiB - 1 byte; SD v1.5's largest tensor is
    /// 152 MB). Checked from the header before anything is allocated, so a huge declared tensor (e.g. in a
    /// sparse file) is refused instead of reaching the allocator.
    /// </summary>
    public const long MaxTensorBytes = int.MaxValue;

    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsEntry> _entries;

    private SafetensorsFile(string path, FileStream stream, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, IReadOnlyList<string> names, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _stream = stream;
        _dataStart = dataStart;
        _entries = entries;
        Names = names;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in file order.</summary>
    public IReadOnlyList<string> Names { get; }

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
            var (dataStart, header) = ReadHeader(fullPath, stream);
            return new SafetensorsFile(fullPath, stream, dataStart, header.Entries, header.NamesInFileOrder, header.Metadata);
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

        // Checked before allocating: the header may declare any size the file (possibly sparse) covers.
        if (entry.ByteLength > MaxTensorBytes)
            throw new SafetensorsFormatException(FilePath, $"tensor '{name}' has {entry.ByteLength} bytes, more than the {MaxTensorBytes} bytes this reader materialises per tensor.");
        var tensor = empty(entry.Shape, entry.ScalarType);
        try
        {
            if (entry.ByteLength > 0)
            {
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

    private static (long DataStart, SafetensorsHeader.Parsed Header) ReadHeader(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new SafetensorsFormatException(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length.");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsFormatException(path, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        if ((long)headerLength > fileLength - 8)
            throw new SafetensorsFormatException(path, $"the header length {headerLength} is longer than the rest of the file ({fileLength - 8} bytes); the file may be truncated.");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        return (dataStart, SafetensorsHeader.Parse(path, headerBytes, fileLength - dataStart));
    }
}
