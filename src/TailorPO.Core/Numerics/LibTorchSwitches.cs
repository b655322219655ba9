using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace TailorPO.Core.Numerics;

/// <summary>
/// libtorch's process-wide backend switches that TorchSharp does not wrap (<c>at::globalContext()</c>'s
/// <c>setUserEnabledMkldnn</c> / <c>setUserEnabledNNPACK</c>, <c>at::get_mkldnn_version()</c>), called through
/// their exported C++ symbols. A member function of <c>at::Context</c> takes the context as its first argument on
/// x64 (System V and Microsoft ABIs alike), so a plain function pointer reaches it. Where a symbol cannot be found
/// (another platform, a future libtorch) the switch reports itself unavailable instead of failing.
/// </summary>
internal static unsafe class LibTorchSwitches
{
    private static readonly Lazy<Exports> Resolved = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed record Exports(
        nint GlobalContext, nint SetMkldnn, nint SetNnpack, nint GetNnpack, nint NnpackAvailable, nint MkldnnVersion);

    /// <summary>Turns libtorch's use of oneDNN on or off; false when the switch is not available.</summary>
    public static bool TrySetOneDnnEnabled(bool enabled)
    {
        var e = Resolved.Value;
        if (e.GlobalContext == 0 || e.SetMkldnn == 0) return false;
        var context = ((delegate* unmanaged<nint>)e.GlobalContext)();
        ((delegate* unmanaged<nint, byte, void>)e.SetMkldnn)(context, enabled ? (byte)1 : (byte)0);
        return true;
    }

    /// <summary>libtorch's NNPACK switch, or null where it cannot be read.</summary>
    public static bool? NnpackEnabled
    {
        get
        {
            var e = Resolved.Value;
            if (e.GlobalContext == 0 || e.GetNnpack == 0) return null;
            var context = ((delegate* unmanaged<nint>)e.GlobalContext)();
            return ((delegate* unmanaged<nint, byte>)e.GetNnpack)(context) != 0;
        }
    }

    /// <summary>Turns libtorch's use of NNPACK on or off; false when the switch is not available.</summary>
    public static bool TrySetNnpackEnabled(bool enabled)
    {
        var e = Resolved.Value;
        if (e.GlobalContext == 0 || e.SetNnpack == 0) return false;
        var context = ((delegate* unmanaged<nint>)e.GlobalContext)();
        ((delegate* unmanaged<nint, byte, void>)e.SetNnpack)(context, enabled ? (byte)1 : (byte)0);
        return true;
    }

    /// <summary>
    /// Whether NNPACK can run on this CPU (<c>at::_nnpack_available()</c>), or null where it cannot be asked. On a CPU
    /// NNPACK does not support, this call prints libtorch's "Could not initialize NNPACK" warning once.
    /// </summary>
    public static bool? NnpackAvailable()
    {
        var e = Resolved.Value;
        if (e.NnpackAvailable == 0) return null;
        return ((delegate* unmanaged<byte>)e.NnpackAvailable)() != 0;
    }

    /// <summary>The oneDNN version libtorch was built with (e.g. "3.7.1"), or null where it cannot be read.</summary>
    public static string? OneDnnVersion()
    {
        var e = Resolved.Value;
        // at::get_mkldnn_version() returns a std::string: only libstdc++'s layout (pointer, length, 16-byte buffer)
        // is read, through the System V hidden return pointer, so only on Linux.
        if (e.MkldnnVersion == 0 || !OperatingSystem.IsLinux()) return null;
        var buffer = stackalloc byte[64];
        ((delegate* unmanaged<byte*, byte*>)e.MkldnnVersion)(buffer);
        var text = *(byte**)buffer;
        var length = *(long*)(buffer + 8);
        if (text is null || length is < 0 or > 4096) return null;
        var version = System.Text.Encoding.UTF8.GetString(text, (int)length);
        // The string's heap buffer (if any) is not freed: a few bytes, read once per process.
        return version.Length == 0 ? null : version;
    }

    private static Exports Resolve()
    {
        // TorchSharp loads libtorch on first use; afterwards the loader hands back the same library.
        InitializeDeviceType(TorchSharp.DeviceType.CPU);
        nint library = 0;
        foreach (var name in new[] { "libtorch_cpu.so", "torch_cpu.dll", "libtorch_cpu.dylib", "libtorch_cpu", "torch_cpu" })
            if (NativeLibrary.TryLoad(name, typeof(TorchSharp.torch).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out library)
                || NativeLibrary.TryLoad(name, Assembly.GetExecutingAssembly(), null, out library))
                break;
        if (library == 0) return new Exports(0, 0, 0, 0, 0, 0);

        nint Export(string itanium, string microsoft) =>
            NativeLibrary.TryGetExport(library, OperatingSystem.IsWindows() ? microsoft : itanium, out var address) ? address : 0;

        return new Exports(
            Export("_ZN2at13globalContextEv", "?globalContext@at@@YAAEAVContext@1@XZ"),
            Export("_ZN2at7Context20setUserEnabledMkldnnEb", "?setUserEnabledMkldnn@Context@at@@QEAAX_N@Z"),
            Export("_ZN2at7Context20setUserEnabledNNPACKEb", "?setUserEnabledNNPACK@Context@at@@QEAAX_N@Z"),
            Export("_ZNK2at7Context17userEnabledNNPACKEv", "?userEnabledNNPACK@Context@at@@QEBA_NXZ"),
            Export("_ZN2at6native17_nnpack_availableEv", "?_nnpack_available@native@at@@YA_NXZ"),
            Export("_ZN2at18get_mkldnn_versionB5cxx11Ev", ""));
    }
}
