namespace TailorPO.Shapes.Evaluation;

/// <summary>
/// Whether a score sees an attribute on generated images: over every pair of images of one caption where one gets the
/// attribute right and the other wrong (by <c>SceneMeasurer</c>), the share in which the score ranks the right one higher
/// (a tie counts a half) - the within-caption AUC. 0.5 means the score cannot tell them apart, so training towards it
/// cannot teach the attribute; 1 means it always prefers the right image.
/// </summary>
/// <param name="Share">The share of concordant pairs (NaN without pairs).</param>
/// <param name="Pairs">Right-wrong pairs of one caption.</param>
public sealed record RankingAgreement(double Share, int Pairs)
{
    /// <summary>Counts the pairs of <paramref name="images"/>, grouped by caption.</summary>
    /// <param name="images">Graded images.</param>
    /// <param name="attribute">The attribute that splits a caption's images into right and wrong.</param>
    /// <param name="score">The score ranked (a monitor of the grade, say).</param>
    public static RankingAgreement Of(IEnumerable<GradedImage> images, GradedAttribute attribute, Func<GradedImage, double> score)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(attribute);
        ArgumentNullException.ThrowIfNull(score);
        double concordant = 0;
        var pairs = 0;
        foreach (var caption in images.GroupBy(i => i.CaptionIndex))
        {
            var right = caption.Where(i => attribute.IsRight(i.Fidelity)).Select(score).ToList();
            var wrong = caption.Where(i => !attribute.IsRight(i.Fidelity)).Select(score).ToList();
            foreach (var r in right)
                foreach (var w in wrong)
                {
                    pairs++;
                    concordant += r > w ? 1 : r == w ? 0.5 : 0;
                }
        }
        return new RankingAgreement(pairs == 0 ? double.NaN : concordant / pairs, pairs);
    }
}
