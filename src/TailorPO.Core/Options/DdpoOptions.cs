namespace TailorPO.Core.Options;

/// <summary>The DDPO (PPO-clip) baseline's settings, as kvablack/ddpo-pytorch.</summary>
public sealed class DdpoOptions
{
    /// <summary>PPO ratio clip range: ratio clamped to [1 - c, 1 + c]. ddpo-pytorch: 1e-4. Must be &gt; 0.</summary>
    public double ClipRange { get; set; } = 1e-4;

    /// <summary>Advantages are clamped to [-a, a]. ddpo-pytorch: 5. Must be &gt; 0.</summary>
    public double AdvantageClip { get; set; } = 5;

    /// <summary>Normalise rewards with per-prompt statistics (ddpo-pytorch default: true); false uses batch statistics.</summary>
    public bool PerPromptStatTracking { get; set; } = true;

    /// <summary>Rewards remembered per prompt (a rolling buffer that persists across epochs). ddpo-pytorch: 16. Must be &gt;= 1.</summary>
    public int StatBufferSize { get; set; } = 16;

    /// <summary>
    /// Below this many remembered rewards a prompt is normalised with the whole batch's mean and std.
    /// ddpo-pytorch: 16. Must lie in [1, <see cref="StatBufferSize"/>].
    /// </summary>
    public int StatMinCount { get; set; } = 16;
}
