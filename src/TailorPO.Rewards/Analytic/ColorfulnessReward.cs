using static TorchSharp.torch;

namespace TailorPO.Rewards.Analytic;

/// <summary>
/// Colourfulness M of Hasler and Suesstrunk (2003), differentiable and weight-free:
/// with opponent channels <c>rg = R - G</c> and <c>yb = (R + G) / 2 - B</c> over all pixels of an image,
/// <c>M = sqrt(std_rg^2 + std_yb^2 + eps) + 0.3 * sqrt(mean_rg^2 + mean_yb^2 + eps)</c>,
/// std being the population standard deviation (divide by H*W).
/// </summary>
/// <remarks>
/// Scale: by default the pixels are used on the [0, 1] scale the rewards receive, so a typical
/// photograph scores about 0.1-0.4. The paper's 0-255 numbers (e.g. 33 = "moderately colourful",
/// 59 = "quite colourful") are obtained with <c>pixelScale = 255</c>; M is proportional to the
/// scale, so the two only differ by that factor (up to eps). <c>eps</c> keeps the square roots
/// differentiable at 0 (a flat grey image): their gradient is bounded by 1 / (2 sqrt(eps)).
/// </remarks>
public sealed class ColorfulnessReward : RewardModelBase
{
    /// <summary>Weight of the mean term in M (Hasler and Suesstrunk's fitted constant).</summary>
    public const double MeanWeight = 0.3;

    /// <summary>Creates the reward.</summary>
    /// <param name="pixelScale">Factor applied to the [0, 1] pixels before measuring: 1 (default) or 255 for the paper's scale.</param>
    /// <param name="epsilon">Added under each square root; default 1e-8 (bias at most 1.3e-4 on M).</param>
    public ColorfulnessReward(double pixelScale = 1.0, double epsilon = 1e-8)
    {
        if (!double.IsFinite(pixelScale) || pixelScale <= 0)
            throw new ArgumentOutOfRangeException(nameof(pixelScale), pixelScale, "pixelScale must be finite and > 0 (1 for [0, 1], 255 for the paper's 0-255 scale).");
        if (!double.IsFinite(epsilon) || epsilon <= 0)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0 so that the square roots stay differentiable at 0.");
        PixelScale = pixelScale;
        Epsilon = epsilon;
    }

    /// <summary>The factor applied to the [0, 1] pixels (1 or 255).</summary>
    public double PixelScale { get; }

    /// <summary>The constant added under each square root.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override string Name => "colorfulness";

    /// <inheritdoc />
    public override bool IsDifferentiable => true;

    /// <inheritdoc />
    protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts)
    {
        var scaled = images * PixelScale;
        var red = scaled[.., 0].flatten(1);
        var green = scaled[.., 1].flatten(1);
        var blue = scaled[.., 2].flatten(1);
        var rg = red - green;
        var yb = (red + green) * 0.5 - blue;

        var meanRg = rg.mean([1]);
        var meanYb = yb.mean([1]);
        var varianceRg = (rg - meanRg.unsqueeze(1)).square().mean([1]);
        var varianceYb = (yb - meanYb.unsqueeze(1)).square().mean([1]);

        var spread = (varianceRg + varianceYb + Epsilon).sqrt();
        var offset = (meanRg.square() + meanYb.square() + Epsilon).sqrt();
        return spread + MeanWeight * offset;
    }
}
