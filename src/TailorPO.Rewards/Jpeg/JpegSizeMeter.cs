using TorchSharp;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// Measures DDPO's JPEG size for a batch: validates the images, converts them as DDPO does
/// (<c>(x * 255).round().clamp(0, 255)</c> to uint8, in float32, rounding half to even) and
/// encodes each with <see cref="BaselineJpegEncoder"/>. Shared by both JPEG rewards.
/// </summary>
internal sealed class JpegSizeMeter
{
    private readonly BaselineJpegEncoder _encoder;
    private readonly double _rangeTolerance;

    public JpegSizeMeter(JpegRewardOptions? options)
    {
        options ??= new JpegRewardOptions();
        options.Validate();
        _encoder = new BaselineJpegEncoder(options.Quality);
        _rangeTolerance = options.RangeTolerance;
    }

    public int Quality => _encoder.Quality;

    /// <summary>Sizes in kB (bytes / 1000), one per image, as float32 on the images' device.</summary>
    public Tensor SizesInKilobytes(Tensor images, IReadOnlyList<string> prompts, string rewardName)
    {
        Validate(images, prompts, rewardName);
        var batch = (int)images.shape[0];
        var height = (int)images.shape[2];
        var width = (int)images.shape[3];
        var imageBytes = 3 * height * width;
        var kilobytes = new float[batch];

        using (NewDisposeScope())
        {
            using var noGrad = no_grad();
            var u8 = images.detach().to(ScalarType.Float32).cpu()
                .mul(255f).round().clamp(0, 255).to(ScalarType.Byte).contiguous();
            var all = u8.bytes;
            for (var i = 0; i < batch; i++)
                kilobytes[i] = _encoder.GetEncodedLength(all.Slice(i * imageBytes, imageBytes), height, width) / 1000f;
        }
        return tensor(kilobytes, ScalarType.Float32).to(images.device);
    }

    private void Validate(Tensor images, IReadOnlyList<string> prompts, string rewardName)
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
        if (3L * height * width > int.MaxValue / 2)
            throw new ArgumentException($"{rewardName}: an image of {height} x {width} pixels is too large to encode.", nameof(images));
        if (prompts.Count != batch)
            throw new ArgumentException(
                $"{rewardName}: got {prompts.Count} prompts for a batch of {batch} images; pass one prompt per image.", nameof(prompts));

        using (NewDisposeScope())
        {
            var values = images.detach();
            var nonFinite = values.isfinite().logical_not().sum().item<long>();
            if (nonFinite > 0)
                throw new ArgumentException(
                    $"{rewardName}: images hold {nonFinite} NaN or infinite values; expected pixels in [0, 1].", nameof(images));
            var min = values.min().to(ScalarType.Float64).item<double>();
            var max = values.max().to(ScalarType.Float64).item<double>();
            if (min < -_rangeTolerance || max > 1 + _rangeTolerance)
                throw new ArgumentException(
                    $"{rewardName}: pixel values span [{min:G6}, {max:G6}] but must lie in [0, 1] (tolerance {_rangeTolerance:G3}). " +
                    "Rescale VAE output from [-1, 1] with x / 2 + 0.5 and clamp.", nameof(images));
        }
    }
}
