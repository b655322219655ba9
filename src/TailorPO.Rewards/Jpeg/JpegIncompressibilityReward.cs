namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// DDPO's JPEG incompressibility reward: the size in kB (bytes / 1000) of the image saved as a
/// quality-95 JPEG with Pillow's defaults, so larger (more detailed, noisier) files score higher.
/// See <see cref="JpegFileSizeReward"/> for the encoding and the input checks.
/// </summary>
public sealed class JpegIncompressibilityReward : JpegFileSizeReward
{
    /// <summary>Creates the reward.</summary>
    /// <param name="options">Quality and range tolerance; defaults (quality 95) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JpegIncompressibilityReward(JpegRewardOptions? options = null)
        : base(options, sign: 1f)
    {
    }

    /// <inheritdoc />
    public override string Name => "jpeg_incompressibility";
}
