using static TorchSharp.torch;

namespace TailorPO.Rewards.Analytic;

/// <summary>
/// Brightness target: <c>r = -(mean luma - target)^2</c>, luma with the BT.601 weights of
/// <see cref="Luminance"/> on the [0, 1] scale. Maximal (0) when the image's mean luma equals the target.
/// </summary>
public sealed class BrightnessTargetReward : RewardModelBase
{
    /// <summary>Creates the reward.</summary>
    /// <param name="target">Target mean luma in [0, 1]; default 0.5 (mid grey).</param>
    public BrightnessTargetReward(double target = 0.5)
    {
        if (!double.IsFinite(target) || target < 0 || target > 1)
            throw new ArgumentOutOfRangeException(nameof(target), target, "The brightness target is a mean luma and must lie in [0, 1].");
        Target = target;
    }

    /// <summary>The target mean luma.</summary>
    public double Target { get; }

    /// <inheritdoc />
    public override string Name => "brightness";

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var mean = Luminance.PerPixel(images).mean([1]);
        return -(mean - Target).square();
    }
}
