using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace TailorPO.Core.Imaging;

/// <summary>
/// The one conversion of image values in [0, 1] to 8-bit pixels that the library uses (PNG output, the JPEG rewards):
/// <c>round(255 x)</c> in float32, rounding half to even, clamped to [0, 255]. It equals DDPO's
/// <c>(x * 255).round().clamp(0, 255).to(uint8)</c> (torch rounds half to even) and, on values already clamped to
/// [0, 1], diffusers' <c>numpy_to_pil</c>, <c>(images * 255).round().astype("uint8")</c> (numpy also rounds half to even).
/// </summary>
public static class PixelBytes
{
    // Chunks of this many values keep the float and int scratch buffers (16 kB) in the L1 cache.
    private const int Chunk = 2048;

    /// <summary>
    /// Writes <c>clamp(round(255 x), 0, 255)</c> of every value of <paramref name="unit"/> to <paramref name="bytes"/>,
    /// in vectorised managed passes (System.Numerics.Tensors). Values outside [0, 1] clamp to 0 or 255; what a NaN
    /// becomes is unspecified, as in libtorch.
    /// </summary>
    /// <param name="unit">The values, usually in [0, 1].</param>
    /// <param name="bytes">Where the pixels go; exactly as long as <paramref name="unit"/>.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void FromUnitInterval(ReadOnlySpan<float> unit, Span<byte> bytes)
    {
        if (bytes.Length != unit.Length)
            throw new ArgumentException($"bytes holds {bytes.Length} values and unit {unit.Length}; they must be as long.", nameof(bytes));
        Span<float> scaled = stackalloc float[Chunk];
        Span<int> whole = stackalloc int[Chunk];
        for (var offset = 0; offset < unit.Length; offset += Chunk)
        {
            var count = Math.Min(Chunk, unit.Length - offset);
            var part = scaled[..count];
            var integers = whole[..count];
            TensorPrimitives.Multiply(unit.Slice(offset, count), 255f, part);
            TensorPrimitives.Round(part, part);
            TensorPrimitives.Clamp(part, 0f, 255f, part);
            // float -> int -> byte is exact for the integers 0..255 and vectorised (ConvertSaturating<float, byte> is not).
            TensorPrimitives.ConvertTruncating<float, int>(part, integers);
            TensorPrimitives.ConvertTruncating<int, byte>(integers, bytes.Slice(offset, count));
        }
    }
}
