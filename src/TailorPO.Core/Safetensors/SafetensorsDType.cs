using static TorchSharp.torch;

namespace TailorPO.Core.Safetensors;

/// <summary>The safetensors dtype names this library reads and writes, and their torch types.</summary>
public static class SafetensorsDType
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>The dtype names understood, e.g. "F32".</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>Looks up a dtype name; false when it is unknown.</summary>
    public static bool TryParse(string name, out ScalarType type, out int elementSize)
    {
        if (ByName.TryGetValue(name, out var entry))
        {
            type = entry.Type;
            elementSize = entry.Size;
            return true;
        }
        type = default;
        elementSize = 0;
        return false;
    }

    /// <summary>The safetensors name of a torch dtype.</summary>
    /// <exception cref="ArgumentException">The dtype has no safetensors name here.</exception>
    public static string NameOf(ScalarType type)
    {
        foreach (var (name, entry) in ByName)
            if (entry.Type == type) return name;
        throw new ArgumentException($"dtype {type} cannot be stored in safetensors by this library (supported: {string.Join(", ", Names)}).", nameof(type));
    }
}
