using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// DDPO's JPEG rewards: the size in kB (bytes / 1000) of each image saved as a JPEG with Pillow's
/// defaults (quality 95 unless configured), times a sign - <see cref="JpegCompressibilityReward"/>
/// scores -size, <see cref="JpegIncompressibilityReward"/> +size. Not differentiable.
/// </summary>
/// <remarks>
/// <para>The file is produced by <see cref="BaselineJpegEncoder"/>, which reproduces libjpeg's default
/// baseline encoding; see there why neither SkiaSharp nor any encoder with optimised Huffman tables
/// would give comparable values.</para>
/// <para>Input checks are those of every library reward (see <see cref="RewardModelBase"/>): null
/// arguments throw <see cref="ArgumentNullException"/>; a wrong shape, dtype, prompt count or a
/// NaN/infinite pixel <see cref="ArgumentException"/>; pixels outside
/// <c>[-RangeTolerance, 1 + RangeTolerance]</c> <see cref="ArgumentOutOfRangeException"/>. The pixel
/// check runs in the same managed pass over the float32 CPU copy that feeds the encoder, not as extra
/// libtorch passes. Tolerated excess is clamped as DDPO clamps it.</para>
/// </remarks>
public abstract class JpegFileSizeReward : IRewardModel
{
    private readonly JpegSizeMeter _meter;
    private readonly float _sign;

    private protected JpegFileSizeReward(JpegRewardOptions? options, float sign)
    {
        _meter = new JpegSizeMeter(options);
        _sign = sign;
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public bool IsDifferentiable => false;

    /// <summary>The JPEG quality in use.</summary>
    public int Quality => _meter.Quality;

    /// <summary>How far outside [0, 1] a pixel may lie before the batch is rejected; such values are clamped.</summary>
    public double RangeTolerance => _meter.RangeTolerance;

    /// <summary>Scores a batch: the JPEG size in kB per image, with this reward's sign.</summary>
    /// <param name="images">RGB images in [0, 1], shape [B, 3, H, W] (H, W &lt;= 65535), any floating dtype and device.</param>
    /// <param name="prompts">The B prompts (unused by this reward, but their count is checked).</param>
    /// <returns>Float32 rewards, shape [B], on the images' device.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">Wrong shape or dtype, a prompt count other than B, or NaN/infinite pixels.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Pixels outside [0, 1] beyond <see cref="RangeTolerance"/>.</exception>
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        var kilobytes = _meter.SizesInKilobytes(images, prompts);
        for (var i = 0; i < kilobytes.Length; i++)
            kilobytes[i] *= _sign;
        var rewards = tensor(kilobytes, ScalarType.Float32);
        if (images.device_type == TorchSharp.DeviceType.CPU)
            return rewards;
        using (rewards)
            return rewards.to(images.device);
    }
}
