namespace TailorPO.Shapes.Evaluation;

/// <summary>One model's graded images (every caption with every seed) and its diversity.</summary>
/// <param name="Images">The graded images, caption-major within each seed.</param>
/// <param name="Diversity">Mean over captions of the mean pairwise RMS pixel distance between its seeds' images (pixels in [0, 1]).</param>
public sealed record ModelGrade(IReadOnlyList<GradedImage> Images, double Diversity)
{
    /// <summary>The share of images getting <paramref name="attribute"/> right, with its standard error over images.</summary>
    public Estimate Accuracy(GradedAttribute attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        return Estimate.Of(Images.Select(i => attribute.IsRight(i.Fidelity) ? 1.0 : 0.0).ToList());
    }

    /// <summary>How well monitor <paramref name="index"/> ranks, within a caption, images with <paramref name="attribute"/> right above those with it wrong.</summary>
    public RankingAgreement Agreement(GradedAttribute attribute, int index) => RankingAgreement.Of(Images, attribute, i => i.Monitors[index]);

    /// <summary>The mean of monitor <paramref name="index"/>, with its standard error over images.</summary>
    public Estimate Monitor(int index) => Estimate.Of(Images.Select(i => i.Monitors[index]).ToList());
}
