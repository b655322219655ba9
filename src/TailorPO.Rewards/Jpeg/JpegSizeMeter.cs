using System.Buffers;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// Measures DDPO's JPEG size for a batch: validates the images, converts them as DDPO does
/// (<c>(x * 255).round().clamp(0, 255)</c> to uint8, with a float32 product and rounding half
/// to even, as torch rounds) and encodes each with <see cref="BaselineJpegEncoder"/>. Shared by
/// both JPEG rewards. The pixels are read once from the float32 CPU copy of the batch (no copy
/// at all when the batch already is float32, contiguous and on the CPU); validation and
/// rounding run in managed loops rather than as several libtorch passes.
/// </summary>
internal sealed class JpegSizeMeter
{
    private readonly BaselineJpegEncoder _encoder;
    private readonly float _lowest;
    private readonly float _highest;
    private readonly double _rangeTolerance;

    public JpegSizeMeter(JpegRewardOptions? options)
    {
        options ??= new JpegRewardOptions();
        options.Validate();
        _encoder = new BaselineJpegEncoder(options.Quality);
        _rangeTolerance = options.RangeTolerance;
        _lowest = (float)-options.RangeTolerance;
        _highest = (float)(1 + options.RangeTolerance);
    }

    public int Quality => _encoder.Quality;

    /// <summary>Sizes in kB (bytes / 1000), one per image, as float32 on the images' device.</summary>
    public Tensor SizesInKilobytes(Tensor images, IReadOnlyList<string> prompts, string rewardName)
    {
        ValidateShape(images, prompts, rewardName);
        var batch = (int)images.shape[0];
        var height = (int)images.shape[2];
        var width = (int)images.shape[3];
        var imageLength = 3 * height * width;
        var kilobytes = new float[batch];

        using (NewDisposeScope())
        {
            var cpu = images.detach().to(ScalarType.Float32).cpu().contiguous();
            ReadOnlySpan<float> pixels = MemoryMarshal.Cast<byte, float>(cpu.bytes);
            ValidateValues(pixels, rewardName);

            var rgb = ArrayPool<byte>.Shared.Rent(imageLength);
            try
            {
                for (var i = 0; i < batch; i++)
                {
                    ToUint8(pixels.Slice(i * imageLength, imageLength), rgb.AsSpan(0, imageLength));
                    kilobytes[i] = _encoder.GetEncodedLength(rgb.AsSpan(0, imageLength), height, width) / 1000f;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rgb);
            }
        }
        return tensor(kilobytes, ScalarType.Float32).to(images.device);
    }

    // DDPO: (x * 255).round().clamp(0, 255).to(uint8); MathF.Round rounds half to even like torch.
    internal static void ToUint8(ReadOnlySpan<float> unit, Span<byte> rgb)
    {
        for (var i = 0; i < unit.Length; i++)
            rgb[i] = (byte)Math.Clamp(MathF.Round(unit[i] * 255f), 0f, 255f);
    }

    private void ValidateValues(ReadOnlySpan<float> pixels, string rewardName)
    {
        long nonFinite = 0;
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        var outside = false;
        foreach (var v in pixels)
        {
            // One comparison pair catches both out-of-range values and NaN (every comparison with NaN is false).
            if (v >= _lowest && v <= _highest) continue;
            outside = true;
            if (!float.IsFinite(v)) nonFinite++;
        }
        if (!outside) return;
        if (nonFinite > 0)
            throw new ArgumentException(
                $"{rewardName}: images hold {nonFinite} NaN or infinite values; expected pixels in [0, 1].", "images");
        foreach (var v in pixels)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        throw new ArgumentException(
            $"{rewardName}: pixel values span [{min:G6}, {max:G6}] but must lie in [0, 1] (tolerance {_rangeTolerance:G3}). " +
            "Rescale VAE output from [-1, 1] with x / 2 + 0.5 and clamp.", "images");
    }

    private static void ValidateShape(Tensor images, IReadOnlyList<string> prompts, string rewardName)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(prompts);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException(
                $"{rewardName}: images must have shape [B, 3, H, W] (RGB), got [{string.Join(", ", images.shape)}].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException(
                $"{rewardName}: images must be a floating-point tensor with values in [0, 1], got dtype {images.dtype}.", nameof(images));
        var (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3]);
        if (batch < 1 || height < 1 || width < 1 || height > BaselineJpegEncoder.MaxDimension || width > BaselineJpegEncoder.MaxDimension)
            throw new ArgumentException(
                $"{rewardName}: images must have B >= 1 and 1 <= H, W <= {BaselineJpegEncoder.MaxDimension}, got [{string.Join(", ", images.shape)}].", nameof(images));
        if (batch * 3L * height * width > int.MaxValue)
            throw new ArgumentException(
                $"{rewardName}: a batch of {batch} images of {height} x {width} pixels is too large to score in one call; split it.", nameof(images));
        if (prompts.Count != batch)
            throw new ArgumentException(
                $"{rewardName}: got {prompts.Count} prompts for a batch of {batch} images; pass one prompt per image.", nameof(prompts));
    }
}
