using System.Runtime.InteropServices;
using TailorPO.Samples.Cli;

namespace TailorPO.Samples.Tests;

/// <summary>The CLI's glibc heap trimmer (its effect on the main job's peak memory is measured in docs/performance.md).</summary>
public class NativeHeapTrimmerTests
{
    [Fact]
    public void It_trims_on_glibc_linux_and_stops_when_disposed()
    {
        var glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "malloc_trim", out _);
        using var trimmer = NativeHeapTrimmer.Start(TimeSpan.FromMilliseconds(20));
        Assert.Equal(glibc && Environment.GetEnvironmentVariable("TAILORPO_HEAP_TRIM") != "0", trimmer.IsActive);
        // Let it trim a few times while the process allocates and frees native memory (tensors), then stop it twice.
        for (var i = 0; i < 20; i++)
        {
            using var t = TorchSharp.torch.ones(256, 1024);
            Thread.Sleep(5);
        }
        trimmer.Dispose();
        trimmer.Dispose();
    }
}
