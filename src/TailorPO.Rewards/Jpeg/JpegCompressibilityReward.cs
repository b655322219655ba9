using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// DDPO's JPEG compressibility reward: minus the size in kB (bytes / 1000) of the image saved
/// as a quality-95 JPEG with Pillow's defaults, so smaller files score higher. The TailorPO
/// paper reports it this way (e.g. -105.51 for SD v1.5 at 512x512, -6.71 after TailorPO).
/// </summary>
/// <remarks>
/// The file is produced by <see cref="BaselineJpegEncoder"/>, which reproduces libjpeg's default
/// baseline encoding; see there why neither SkiaSharp nor any encoder with optimised Huffman
/// tables would give comparable values. Not differentiable.
/// </remarks>
public sealed class JpegCompressibilityReward : IRewardModel
{
    private readonly JpegSizeMeter _meter;

    /// <summary>Creates the reward.</summary>
    /// <param name="options">Quality and range tolerance; defaults (quality 95) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JpegCompressibilityReward(JpegRewardOptions? options = null)
    {
        _meter = new JpegSizeMeter(options);
    }

    /// <inheritdoc />
    public string Name => "jpeg_compressibility";

    /// <inheritdoc />
    public bool IsDifferentiable => false;

    /// <summary>The JPEG quality in use.</summary>
    public int Quality => _meter.Quality;

    /// <summary>Scores a batch: -(JPEG size in kB) per image.</summary>
    /// <param name="images">RGB images in [0, 1], shape [B, 3, H, W], any floating dtype and device.</param>
    /// <param name="prompts">The B prompts (unused by this reward, but their count is checked).</param>
    /// <returns>Float32 rewards, shape [B], on the images' device.</returns>
    /// <exception cref="ArgumentException">Wrong shape or dtype, values outside [0, 1], NaN, or a prompt count other than B.</exception>
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        using var sizes = _meter.SizesInKilobytes(images, prompts, Name);
        return sizes.neg();
    }
}
