using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Diffusion.Options;

/// <summary>Parses the device names the options accept: "cpu", "cuda", "cuda:&lt;index&gt;".</summary>
internal static class DeviceNames
{
    public const string Expected = "\"cpu\", \"cuda\" or \"cuda:<index>\"";

    // Our own parser: torch.Device(string) goes through Enum.Parse, which also accepts numbers ("1" = CUDA).
    public static bool TryParse(string? text, out Device device)
    {
        device = CPU;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var parts = text.Trim().Split(':');
        if (parts.Length > 2) return false;

        DeviceType type;
        if (parts[0].Equals("cpu", StringComparison.OrdinalIgnoreCase)) type = DeviceType.CPU;
        else if (parts[0].Equals("cuda", StringComparison.OrdinalIgnoreCase)) type = DeviceType.CUDA;
        else return false;

        int index = -1;
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out index))
            return false;
        device = new Device(type, index);
        return true;
    }
}
