namespace TailorPO.Rewards.Jpeg;

/// <summary>Settings of the JPEG (in)compressibility rewards.</summary>
public sealed class JpegRewardOptions
{
    /// <summary>
    /// The largest <see cref="RangeTolerance"/> allowed: half a uint8 step, so that every tolerated
    /// value still rounds to 0 or 255.
    /// </summary>
    public const double MaxRangeTolerance = 0.5 / 255;

    /// <summary>JPEG quality, 1..100. Default 95, as in DDPO and the TailorPO paper.</summary>
    public int Quality { get; set; } = BaselineJpegEncoder.DefaultQuality;

    /// <summary>
    /// How far outside [0, 1] a pixel may be before the images are rejected (such values are
    /// clamped as DDPO clamps them). Default <see cref="RewardModelBase.DefaultRangeTolerance"/>
    /// (1e-3, the default of every library reward, well under half a uint8 step); a larger excess
    /// means the images are not in [0, 1] at all (e.g. [-1, 1] VAE output not yet rescaled).
    /// </summary>
    public double RangeTolerance { get; set; } = RewardModelBase.DefaultRangeTolerance;

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Quality outside 1..100, or tolerance outside [0, 0.5/255].</exception>
    public void Validate()
    {
        if (Quality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(Quality), Quality, "The JPEG quality must be between 1 and 100 (DDPO uses 95).");
        if (!(RangeTolerance >= 0 && RangeTolerance <= MaxRangeTolerance))
            throw new ArgumentOutOfRangeException(nameof(RangeTolerance), RangeTolerance,
                $"The range tolerance must be between 0 and {MaxRangeTolerance:G4} (half a uint8 step).");
    }
}
