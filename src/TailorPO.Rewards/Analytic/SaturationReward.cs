using static TorchSharp.torch;

namespace TailorPO.Rewards.Analytic;

/// <summary>
/// Mean HSV-style saturation, differentiable and weight-free: per pixel
/// <c>S = (max(R, G, B) - min(R, G, B)) / (max(R, G, B) + eps)</c>, averaged over the image.
/// Values lie in [0, 1): 0 for greys, close to 1 for pure hues.
/// </summary>
/// <remarks>
/// HSV's exact saturation (max - min) / max jumps from 0 to 1 next to black, so its gradient is
/// unbounded there. The eps in the denominator (default 1e-3) bounds the gradient by about 1 / eps
/// and lowers S of a pixel with maximum v by the factor v / (v + eps) (0.2% at v = 0.5).
/// Where two channels tie for the maximum or minimum the gradient is split evenly between them.
/// </remarks>
public sealed class SaturationReward : RewardModelBase
{
    /// <summary>Creates the reward.</summary>
    /// <param name="epsilon">Added to the per-pixel maximum; default 1e-3.</param>
    public SaturationReward(double epsilon = 1e-3)
    {
        if (!double.IsFinite(epsilon) || epsilon <= 0)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0 so that black pixels have a finite gradient.");
        Epsilon = epsilon;
    }

    /// <summary>The constant added to the per-pixel maximum.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override string Name => "saturation";

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var max = images.amax([1]);
        var min = images.amin([1]);
        var saturation = (max - min) / (max + Epsilon);
        return saturation.flatten(1).mean([1]);
    }
}
