using Spectre.Console;
using TailorPO.Core.Numerics;
using TailorPO.Samples.Commands;
using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Samples.Cli;

/// <summary>Applies the global options to libtorch (process-wide state) and checks its CPU numerics.</summary>
public static class TorchSetup
{
    /// <summary>
    /// Sets the intra-op thread count and the convolution path, runs the numerics self-check (tens of milliseconds;
    /// it throws, naming the op, the CPU and the fix, when a path in use computes wrong numbers), prints the guard's
    /// one-line decision, and returns the device the settings name.
    /// </summary>
    public static Device Apply(GlobalSettings settings, IAnsiConsole? console = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        torch.set_num_threads(settings.EffectiveThreads);
        if (settings.ConvolutionPolicy is { } policy) TorchNumerics.Configure(policy);
        var report = TorchNumerics.Verify();
        console?.MarkupLine("[grey]" + Markup.Escape(report.Decision.Summary) + "[/]");
        return DeviceOption.Parse(settings.Device);
    }
}
