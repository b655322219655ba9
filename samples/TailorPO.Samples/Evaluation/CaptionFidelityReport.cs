using TailorPO.Shapes.Dataset;
using TailorPO.Shapes.Evaluation;

namespace TailorPO.Samples.Evaluation;

/// <summary>
/// Caption fidelity of a model over a set of generated images: the share of images whose dominant
/// foreground colour, shape, background colour and background pattern agree with the caption.
/// </summary>
/// <param name="Samples">Every image's result.</param>
/// <param name="Split">Which captions were used (normally the held-out combinations).</param>
/// <param name="Steps">DDIM steps.</param>
/// <param name="GuidanceScale">CFG scale.</param>
/// <param name="Eta">DDIM eta.</param>
public sealed record CaptionFidelityReport(IReadOnlyList<FidelitySample> Samples, DatasetSplit Split, int Steps, double GuidanceScale, double Eta)
{
    /// <summary>Number of images.</summary>
    public int Count => Samples.Count;

    /// <summary>Share of images whose dominant foreground colour matches the caption (the headline figure).</summary>
    public double ColorAgreement => Share(s => s.ColorMatches);

    /// <summary>Share of images whose shape matches.</summary>
    public double ShapeAgreement => Share(s => s.ShapeMatches);

    /// <summary>Share of images whose background colour matches.</summary>
    public double BackgroundColorAgreement => Share(s => s.BackgroundColorMatches);

    /// <summary>Share of images whose background pattern matches.</summary>
    public double TextureAgreement => Share(s => s.TextureMatches);

    /// <summary>Share of images whose background colour and pattern both match.</summary>
    public double BackgroundAgreement => Share(s => s.BackgroundMatches);

    /// <summary>Share of images where every attribute matches.</summary>
    public double AllAgreement => Share(s => s.ColorMatches && s.ShapeMatches && s.BackgroundMatches);

    /// <summary>Binomial standard error of a share over <see cref="Count"/> images.</summary>
    public double StandardError(double share) => Count == 0 ? double.NaN : Math.Sqrt(share * (1 - share) / Count);

    private double Share(Func<FidelitySample, bool> predicate) => Count == 0 ? double.NaN : (double)Samples.Count(predicate) / Count;
}
