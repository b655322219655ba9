using TailorPO.Samples.Commands;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Samples.Cli;

/// <summary>Applies the global options to libtorch (process-wide state).</summary>
public static class TorchSetup
{
    /// <summary>Sets the intra-op thread count and returns the device the settings name.</summary>
    public static Device Apply(GlobalSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        torch.set_num_threads(settings.EffectiveThreads);
        return DeviceOption.Parse(settings.Device);
    }
}
