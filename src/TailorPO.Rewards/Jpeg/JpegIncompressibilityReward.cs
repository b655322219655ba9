using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// DDPO's JPEG incompressibility reward: the size in kB (bytes / 1000) of the image saved as a
/// quality-95 JPEG with Pillow's defaults, so larger (more detailed, noisier) files score higher.
/// </summary>
/// <remarks>
/// The file is produced by <see cref="BaselineJpegEncoder"/>, which reproduces libjpeg's default
/// baseline encoding. Not differentiable.
/// </remarks>
public sealed class JpegIncompressibilityReward : IRewardModel
{
    private readonly JpegSizeMeter _meter;

    /// <summary>Creates the reward.</summary>
    /// <param name="options">Quality and range tolerance; defaults (quality 95) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JpegIncompressibilityReward(JpegRewardOptions? options = null)
    {
        _meter = new JpegSizeMeter(options);
    }

    /// <inheritdoc />
    public string Name => "jpeg_incompressibility";

    /// <inheritdoc />
    public bool IsDifferentiable => false;

    /// <summary>The JPEG quality in use.</summary>
    public int Quality => _meter.Quality;

    /// <summary>Scores a batch: the JPEG size in kB per image.</summary>
    /// <param name="images">RGB images in [0, 1], shape [B, 3, H, W], any floating dtype and device.</param>
    /// <param name="prompts">The B prompts (unused by this reward, but their count is checked).</param>
    /// <returns>Float32 rewards, shape [B], on the images' device.</returns>
    /// <exception cref="ArgumentException">Wrong shape or dtype, values outside [0, 1], NaN, or a prompt count other than B.</exception>
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts) => _meter.SizesInKilobytes(images, prompts, Name);
}
