using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Samples.Cli;

/// <summary>Parses <c>--device</c>: "cpu", "cuda" or "cuda:&lt;index&gt;".</summary>
public static class DeviceOption
{
    /// <summary>What the option accepts, for messages.</summary>
    public const string Expected = "cpu, cuda or cuda:<index>";

    /// <summary>Parses the text; false when it names no device.</summary>
    public static bool TryParse(string? text, out DeviceType type, out int index)
    {
        type = DeviceType.CPU;
        index = -1;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var parts = text.Trim().Split(':');
        if (parts.Length > 2) return false;
        if (parts[0].Equals("cpu", StringComparison.OrdinalIgnoreCase) && parts.Length == 1) type = DeviceType.CPU;
        else if (parts[0].Equals("cuda", StringComparison.OrdinalIgnoreCase)) type = DeviceType.CUDA;
        else return false;
        return parts.Length == 1 || int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>The problem with the text, or null when it names a usable device.</summary>
    public static string? Check(string? text)
    {
        if (!TryParse(text, out var type, out var index))
            return $"--device '{text}' is not a device; expected {Expected}.";
        if (type == DeviceType.CUDA)
        {
            if (!cuda.is_available())
                return $"--device {text}: CUDA is not available here (this build uses the CPU libtorch backend, or no GPU/driver was found). Use --device cpu.";
            if (index >= cuda.device_count())
                return $"--device {text}: only {cuda.device_count()} CUDA device(s) are visible.";
        }
        return null;
    }

    /// <summary>The device the text names (call <see cref="Check"/> first).</summary>
    public static Device Parse(string? text)
    {
        if (!TryParse(text, out var type, out var index))
            throw new ArgumentException($"'{text}' is not a device; expected {Expected}.", nameof(text));
        return new Device(type, index);
    }
}
