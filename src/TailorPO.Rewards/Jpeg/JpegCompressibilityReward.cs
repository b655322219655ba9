namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// DDPO's JPEG compressibility reward: minus the size in kB (bytes / 1000) of the image saved
/// as a quality-95 JPEG with Pillow's defaults, so smaller files score higher. The TailorPO
/// paper reports it this way (e.g. -105.51 for SD v1.5 at 512x512, -6.71 after TailorPO).
/// See <see cref="JpegFileSizeReward"/> for the encoding and the input checks.
/// </summary>
public sealed class JpegCompressibilityReward : JpegFileSizeReward
{
    /// <summary>Creates the reward.</summary>
    /// <param name="options">Quality and range tolerance; defaults (quality 95) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public JpegCompressibilityReward(JpegRewardOptions? options = null)
        : base(options, sign: -1f)
    {
    }

    /// <inheritdoc />
    public override string Name => "jpeg_compressibility";
}
