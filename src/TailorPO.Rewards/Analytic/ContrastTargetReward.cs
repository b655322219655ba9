using static TorchSharp.torch;

namespace TailorPO.Rewards.Analytic;

/// <summary>
/// Contrast target: <c>r = -(std luma - target)^2</c> with the population standard deviation of
/// the BT.601 luma (see <see cref="Luminance"/>) over the image's pixels, on the [0, 1] scale.
/// The standard deviation is <c>sqrt(variance + eps)</c> so that a flat image has a finite gradient.
/// </summary>
public sealed class ContrastTargetReward : RewardModelBase
{
    /// <summary>The largest possible luma standard deviation of an image in [0, 1] (half black, half white).</summary>
    public const double MaximumTarget = 0.5;

    /// <summary>Creates the reward.</summary>
    /// <param name="target">Target luma standard deviation in [0, 0.5]; default 0.25.</param>
    /// <param name="epsilon">Added to the variance before the square root; default 1e-8.</param>
    public ContrastTargetReward(double target = 0.25, double epsilon = 1e-8)
    {
        if (!double.IsFinite(target) || target < 0 || target > MaximumTarget)
            throw new ArgumentOutOfRangeException(nameof(target), target, "The contrast target is a luma standard deviation and must lie in [0, 0.5].");
        if (!double.IsFinite(epsilon) || epsilon <= 0)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0 so that the square root stays differentiable at 0.");
        Target = target;
        Epsilon = epsilon;
    }

    /// <summary>The target luma standard deviation.</summary>
    public double Target { get; }

    /// <summary>The constant added to the variance.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override string Name => "contrast";

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var luma = Luminance.PerPixel(images);
        var centred = luma - luma.mean([1], keepdim: true);
        var std = (centred.square().mean([1]) + Epsilon).sqrt();
        return -(std - Target).square();
    }
}
