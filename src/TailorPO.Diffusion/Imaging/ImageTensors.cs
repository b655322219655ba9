using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;
using TailorPO.Core.IO;
using TailorPO.Core.Imaging;
using TorchSharp;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace TailorPO.Diffusion.Imaging;

/// <summary>
/// Conversions between image tensors (RGB, [B, 3, H, W], float in [0, 1]) and files or bitmaps.
/// PNG encoding uses SkiaSharp; files are written to a temporary name and renamed.
/// </summary>
public static class ImageTensors
{
    // Loading libSkiaSharp is tried once; its outcome (null = loaded) answers every later call.
    private static readonly Lazy<Exception?> CodecLoadFailure = new(ProbeCodec);

    /// <summary>
    /// Throws now if PNG/JPEG files cannot be written or read (SkiaSharp's natives are missing), so that a program can
    /// fail at start instead of after minutes of generation. Every file operation of this class checks it too.
    /// </summary>
    /// <exception cref="ImageCodecUnavailableException">libSkiaSharp cannot be loaded; the message names the package to add.</exception>
    public static void EnsureCodecAvailable()
    {
        if (CodecLoadFailure.Value is { } failure) throw new ImageCodecUnavailableException(failure);
    }

    private static Exception? ProbeCodec()
    {
        try
        {
            using var probe = new SKBitmap(1, 1);
            return null;
        }
        catch (Exception e) when (IsNativeLoadFailure(e))
        {
            return e;
        }
    }

    /// <summary>True for the ways a missing native library surfaces: directly, or wrapped by a type initializer.</summary>
    internal static bool IsNativeLoadFailure(Exception e) => e switch
    {
        DllNotFoundException or EntryPointNotFoundException or BadImageFormatException => true,
        TypeInitializationException { InnerException: { } inner } => IsNativeLoadFailure(inner),
        _ => false,
    };

    /// <summary>Checks that <paramref name="images"/> is a float batch [B, 3, H, W].</summary>
    /// <exception cref="ArgumentException">Wrong rank, channel count or dtype.</exception>
    public static void ValidateBatch(Tensor images, string argumentName)
    {
        ArgumentNullException.ThrowIfNull(images, argumentName);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Expected an image batch of shape [B, 3, H, W]; got [{string.Join(", ", images.shape)}].", argumentName);
        if (!images.is_floating_point())
            throw new ArgumentException($"Expected a floating-point image batch in [0, 1]; got dtype {images.dtype}.", argumentName);
    }

    /// <summary>Quantises images to bytes the way DDPO does: round(255 x), clamped to [0, 255].</summary>
    /// <returns>uint8 tensor [B, 3, H, W] on the CPU.</returns>
    /// <remarks>
    /// The float32 CPU copy is converted in one managed pass (<see cref="PixelBytes"/>) instead of four libtorch passes
    /// with a temporary each; the result is the same as libtorch's <c>(x * 255).round().clamp(0, 255).to(uint8)</c>
    /// (float32 product, rounding half to even). What a NaN becomes is unspecified, as in libtorch.
    /// </remarks>
    public static Tensor ToBytes(Tensor images)
    {
        ValidateBatch(images, nameof(images));
        if (images.numel() > Array.MaxLength)
            throw new ArgumentException($"An image batch of {images.numel()} values is too large to convert at once; split the batch.", nameof(images));
        using var scope = NewDisposeScope();
        var cpu = images.detach().to(ScalarType.Float32).cpu().contiguous();
        // Converted straight into the new tensor's storage: no managed copy of the batch.
        var result = empty(cpu.shape, ScalarType.Byte);
        PixelBytes.FromUnitInterval(MemoryMarshal.Cast<byte, float>(cpu.bytes), result.bytes);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Encodes one image [3, H, W] in [0, 1] as PNG bytes.</summary>
    /// <exception cref="ImageCodecUnavailableException">SkiaSharp's natives are missing.</exception>
    public static byte[] EncodePng(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 3 || image.shape[0] != 3)
            throw new ArgumentException($"Expected one image of shape [3, H, W]; got [{string.Join(", ", image.shape)}].", nameof(image));
        EnsureCodecAvailable();
        using var scope = NewDisposeScope();
        var bytes = ToBytes(image.unsqueeze(0))[0].permute(1, 2, 0).contiguous(); // H, W, 3
        int height = (int)bytes.shape[0], width = (int)bytes.shape[1];
        var rgb = bytes.data<byte>().ToArray();

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[width * height * 4];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            pixels[j] = rgb[i];
            pixels[j + 1] = rgb[i + 1];
            pixels[j + 2] = rgb[i + 2];
            pixels[j + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Saves one image [3, H, W] in [0, 1] as a PNG file (atomically).</summary>
    public static void SavePng(Tensor image, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = EncodePng(image);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Arranges a batch [B, 3, H, W] into one grid image [3, rows*H, cols*W] (row-major, padding in grey).</summary>
    public static Tensor Grid(Tensor images, int columns, int padding = 2)
    {
        ValidateBatch(images, nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "At least one column is needed.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "Padding cannot be negative.");
        using var scope = NewDisposeScope();
        long count = images.shape[0], height = images.shape[2], width = images.shape[3];
        long rows = (count + columns - 1) / columns;
        var grid = full(new long[] { 3, rows * (height + padding) + padding, columns * (width + padding) + padding }, 0.5f,
            dtype: ScalarType.Float32);
        var source = images.detach().to(ScalarType.Float32).cpu();
        for (long i = 0; i < count; i++)
        {
            long row = i / columns, column = i % columns;
            long top = padding + row * (height + padding), left = padding + column * (width + padding);
            grid[TensorIndex.Colon, TensorIndex.Slice(top, top + height), TensorIndex.Slice(left, left + width)] = source[i];
        }
        return grid.MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a PNG/JPEG file into an image tensor [3, H, W] in [0, 1].</summary>
    /// <exception cref="ImageCodecUnavailableException">SkiaSharp's natives are missing.</exception>
    public static Tensor Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Image '{path}' does not exist.", path);
        EnsureCodecAvailable();
        using var bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode.");
        using var rgba = bitmap.Copy(SKColorType.Rgba8888) ?? throw new InvalidDataException($"'{path}' could not be converted to RGBA.");
        return FromRgba(rgba.Bytes, rgba.Height, rgba.Width);
    }

    /// <summary>Interleaved RGBA bytes (row-major, alpha ignored) to an image tensor [3, H, W] of x / 255.</summary>
    /// <remarks>Each channel is gathered into a plane, then converted and divided by 255 with TensorPrimitives: the same
    /// float32 values libtorch's <c>to(float32) / 255</c> gives, without its strided permute.</remarks>
    internal static Tensor FromRgba(byte[] rgba, int height, int width)
    {
        var pixels = height * width;
        if (rgba.Length != 4 * pixels)
            throw new ArgumentException($"Expected {height} x {width} x 4 = {4L * pixels} RGBA bytes, got {rgba.Length}.", nameof(rgba));
        // Converted straight into the new tensor's storage, one channel plane at a time through a pooled byte plane.
        var image = empty(new long[] { 3, height, width }, ScalarType.Float32);
        var planar = MemoryMarshal.Cast<byte, float>(image.bytes);
        var plane = ArrayPool<byte>.Shared.Rent(pixels);
        try
        {
            for (var channel = 0; channel < 3; channel++)
            {
                for (int i = 0, j = channel; i < pixels; i++, j += 4) plane[i] = rgba[j];
                var destination = planar.Slice(channel * pixels, pixels);
                TensorPrimitives.ConvertTruncating<byte, float>(plane.AsSpan(0, pixels), destination);
                TensorPrimitives.Divide(destination, 255f, destination);
            }
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plane);
        }
    }

    /// <summary>Largest image <see cref="LoadSquare"/> decodes, in pixels (a 64-megapixel photo; a hostile header can claim far more).</summary>
    public const long MaxDecodedPixels = 64L * 1024 * 1024;

    /// <summary>
    /// Decodes a PNG/JPEG/WebP file, crops the centred square and resizes it to <paramref name="size"/> x
    /// <paramref name="size"/> (SkiaSharp, cubic resampling): how training images are usually brought to a model's resolution.
    /// The header's dimensions are checked before any pixel is decoded.
    /// </summary>
    /// <returns>float32 [3, size, size] in [0, 1] on the CPU.</returns>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a decodable image, or larger than <see cref="MaxDecodedPixels"/>.</exception>
    public static Tensor LoadSquare(string path, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image '{path}' does not exist.", path);
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode.");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width < 1 || height < 1 || (long)width * height > MaxDecodedPixels)
            throw new InvalidDataException($"'{path}' is {width} x {height} pixels; images must have between 1 and {MaxDecodedPixels:N0} pixels.");
        using var decoded = SKBitmap.Decode(codec, codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul))
            ?? throw new InvalidDataException($"'{path}' could not be decoded.");
        var side = Math.Min(width, height);
        using var square = new SKBitmap();
        if (!decoded.ExtractSubset(square, SKRectI.Create((width - side) / 2, (height - side) / 2, side, side)))
            throw new InvalidDataException($"'{path}': the centred square could not be cropped.");
        using var resized = square.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException($"'{path}' could not be resized to {size} x {size}.");
        using var scope = NewDisposeScope();
        var hwc = tensor(resized.Bytes, new long[] { size, size, 4 }, ScalarType.Byte);
        return (hwc[TensorIndex.Ellipsis, TensorIndex.Slice(0, 3)].permute(2, 0, 1).to(ScalarType.Float32) / 255f).MoveToOuterDisposeScope();
    }
}
