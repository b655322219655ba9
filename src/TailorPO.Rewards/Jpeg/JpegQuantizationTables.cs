namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The example quantisation tables of ITU T.81 Annex K.1 / K.2 and the IJG quality scaling
/// that libjpeg's <c>jpeg_set_quality</c> applies to them (Pillow passes force_baseline = TRUE).
/// </summary>
internal static class JpegQuantizationTables
{
    // Annex K, table K.1 (luminance), natural row-major order.
    private static readonly byte[] s_luminance =
    [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ];

    // Annex K, table K.2 (chrominance), natural row-major order.
    private static readonly byte[] s_chrominance =
    [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
    ];

    /// <summary>Annex K.1 luminance table, natural order.</summary>
    public static ReadOnlySpan<byte> AnnexKLuminance => s_luminance;

    /// <summary>Annex K.2 chrominance table, natural order.</summary>
    public static ReadOnlySpan<byte> AnnexKChrominance => s_chrominance;

    /// <summary>
    /// IJG's quality-to-percentage mapping: below 50 the tables grow as 5000 / q, from 50 up
    /// they shrink linearly as 200 - 2q (quality 95 gives 10%).
    /// </summary>
    public static int QualityToScalePercent(int quality)
    {
        quality = Math.Clamp(quality, 1, 100);
        return quality < 50 ? 5000 / quality : 200 - quality * 2;
    }

    /// <summary>
    /// A table scaled as libjpeg does: (entry * scale + 50) / 100 in integer arithmetic,
    /// at least 1, and at most 255 so that it fits an 8-bit baseline DQT.
    /// </summary>
    public static ushort[] Scale(ReadOnlySpan<byte> annexKTable, int quality)
    {
        var scale = QualityToScalePercent(quality);
        var scaled = new ushort[64];
        for (var i = 0; i < 64; i++)
        {
            var value = (annexKTable[i] * scale + 50) / 100;
            scaled[i] = (ushort)Math.Clamp(value, 1, 255);
        }
        return scaled;
    }
}
