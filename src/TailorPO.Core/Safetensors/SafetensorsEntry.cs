using static TorchSharp.torch;

namespace TailorPO.Core.Safetensors;

/// <summary>One tensor's header entry: name, dtype, shape and byte range in the data section.</summary>
/// <param name="Name">The tensor name (a state-dict key).</param>
/// <param name="DType">The safetensors dtype name, e.g. "F32".</param>
/// <param name="ScalarType">The torch dtype.</param>
/// <param name="Shape">The shape (empty for a 0-d tensor).</param>
/// <param name="Begin">Start offset inside the data section.</param>
/// <param name="End">End offset (exclusive) inside the data section.</param>
public sealed record SafetensorsEntry(string Name, string DType, ScalarType ScalarType, long[] Shape, long Begin, long End)
{
    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteLength => End - Begin;
}
