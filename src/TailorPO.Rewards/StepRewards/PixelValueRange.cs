namespace TailorPO.Rewards.StepRewards;

/// <summary>The value range of a pixel-space model's samples.</summary>
public enum PixelValueRange
{
    /// <summary>Samples in [-1, 1] (the diffusion convention, as the VAE decoder's output): images are (x + 1) / 2.</summary>
    MinusOneToOne,

    /// <summary>Samples already in [0, 1]: images are x.</summary>
    ZeroToOne,
}
