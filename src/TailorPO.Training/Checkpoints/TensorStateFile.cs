using System.Text;
using static TorchSharp.torch;

namespace TailorPO.Training.Checkpoints;

/// <summary>
/// The trainer's own small tensor file (optimizer moments, generator states): a magic string, then per tensor its
/// name, dtype, shape and raw bytes. Written to a temporary file and renamed; every length is checked on read.
/// </summary>
internal static class TensorStateFile
{
    private const string Magic = "TAILORPO-STATE-1";
    private const int MaxTensors = 1_000_000;

    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8))
            {
                writer.Write(Magic);
                writer.Write(tensors.Count);
                foreach (var (name, tensor) in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
                {
                    using var cpu = tensor.detach().cpu().contiguous();
                    writer.Write(name);
                    writer.Write((int)cpu.dtype);
                    writer.Write(cpu.dim());
                    foreach (var d in cpu.shape) writer.Write(d);
                    var bytes = cpu.bytes.ToArray();
                    writer.Write(bytes.LongLength);
                    writer.Write(bytes);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    public static Dictionary<string, Tensor> Read(string path)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadString() != Magic) throw new InvalidDataException($"'{path}' is not a TailorPO trainer state file.");
            var count = reader.ReadInt32();
            if (count is < 0 or > MaxTensors) throw new InvalidDataException($"'{path}' claims {count} tensors.");
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var dtype = (ScalarType)reader.ReadInt32();
                var rank = reader.ReadInt64();
                if (rank is < 0 or > 8) throw new InvalidDataException($"'{path}': tensor '{name}' has rank {rank}.");
                var shape = new long[rank];
                for (var d = 0; d < rank; d++)
                {
                    shape[d] = reader.ReadInt64();
                    if (shape[d] < 0) throw new InvalidDataException($"'{path}': tensor '{name}' has a negative dimension.");
                }
                var length = reader.ReadInt64();
                if (length < 0 || length > stream.Length - stream.Position)
                    throw new InvalidDataException($"'{path}': tensor '{name}' claims {length} bytes; the file is shorter (truncated?).");
                var bytes = reader.ReadBytes((int)length);
                var tensor = empty(shape, dtype).DetachFromDisposeScope();
                if (tensor.bytes.Length != bytes.Length)
                {
                    tensor.Dispose();
                    throw new InvalidDataException($"'{path}': tensor '{name}' has {bytes.Length} bytes for shape [{string.Join(", ", shape)}] of {dtype}.");
                }
                tensor.bytes = bytes;
                result[name] = tensor;
            }
            if (stream.Position != stream.Length) throw new InvalidDataException($"'{path}' has trailing bytes.");
            return result;
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw ex is InvalidDataException ? ex : new InvalidDataException($"'{path}' is not a valid trainer state file: {ex.Message}", ex);
        }
    }
}
