using TailorPO.Core.Errors;

namespace TailorPO.Diffusion.Imaging;

/// <summary>
/// SkiaSharp's native library, which encodes and decodes PNG/JPEG files, cannot be loaded. On Linux the application must
/// reference <c>SkiaSharp.NativeAssets.Linux.NoDependencies</c>; the message names the package and the version.
/// </summary>
public sealed class ImageCodecUnavailableException : TailorPOException
{
    /// <summary>The package that brings SkiaSharp's natives for Linux.</summary>
    public const string LinuxNativeAssetsPackage = "SkiaSharp.NativeAssets.Linux.NoDependencies";

    /// <summary>The SkiaSharp version the library is built against (the natives must match it).</summary>
    public const string SkiaSharpVersion = "3.119.0";

    /// <summary>Creates the exception for the load failure <paramref name="cause"/>.</summary>
    public ImageCodecUnavailableException(Exception cause)
        : base($"SkiaSharp's native library (libSkiaSharp) could not be loaded, so images cannot be saved as or read from " +
               $"PNG/JPEG files ({cause.GetType().Name}: {cause.Message}). Add the package {LinuxNativeAssetsPackage} " +
               $"{SkiaSharpVersion} to the application on Linux (dotnet add package {LinuxNativeAssetsPackage} --version " +
               $"{SkiaSharpVersion}); on Windows and macOS SkiaSharp brings its natives.", cause)
    {
    }
}
