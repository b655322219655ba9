using System.Globalization;
using System.Text;

namespace TailorPO.Shapes.Evaluation;

/// <summary>
/// A GenEval-style grade of a base model and, optionally, its aligned form on the same held-out captions and seeds:
/// per-attribute accuracy measured exactly by <c>SceneMeasurer</c> (never seen by any reward), the monitors (the
/// preference model's score, JPEG size, colourfulness, ...), and diversity. Gains are paired: the same caption and seed
/// under both models, so their standard error is that of the per-image differences.
/// </summary>
/// <param name="Options">The grade's settings.</param>
/// <param name="MonitorNames">The monitors, in the order of <see cref="GradedImage.Monitors"/>.</param>
/// <param name="Base">The base model's grade.</param>
/// <param name="Aligned">The aligned model's grade, or null when only the base was graded.</param>
public sealed record AttributeGradeReport(AttributeGradeOptions Options, IReadOnlyList<string> MonitorNames, ModelGrade Base, ModelGrade? Aligned)
{
    /// <summary>Graded images per model.</summary>
    public int Count => Base.Images.Count;

    /// <summary>The aligned model's accuracy minus the base's, with the paired standard error.</summary>
    /// <exception cref="InvalidOperationException">No aligned model was graded.</exception>
    public Estimate Gain(GradedAttribute attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        return Paired(i => attribute.IsRight(i.Fidelity) ? 1.0 : 0.0);
    }

    /// <summary>The aligned model's monitor mean minus the base's, with the paired standard error.</summary>
    public Estimate MonitorGain(int index) => Paired(i => i.Monitors[index]);

    /// <summary>Aligned diversity over the base's (1 = unchanged); NaN without an aligned model.</summary>
    public double DiversityRatio => Aligned is null ? double.NaN : Aligned.Diversity / Base.Diversity;

    private Estimate Paired(Func<GradedImage, double> value)
    {
        var aligned = Aligned ?? throw new InvalidOperationException("Only the base model was graded.");
        return Estimate.Of(Base.Images.Zip(aligned.Images, (b, a) => value(a) - value(b)).ToList());
    }

    /// <summary>The grade as a markdown section (tables of accuracy, monitors and diversity).</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"Graded on {Options.Captions} held-out captions x {Options.SeedsPerCaption} seeds ({Count} images per model; seeds from {Options.FirstSeed}; {Options.Steps} DDIM steps, eta {Options.Eta}, CFG {Options.GuidanceScale}). Accuracy is measured by `SceneMeasurer`, which no reward sees; +- is one standard error over images, gains are paired (same caption and seed).");
        text.AppendLine();
        if (Aligned is null)
        {
            text.AppendLine("| attribute | accuracy |");
            text.AppendLine("| --- | --- |");
            foreach (var attribute in GradedAttribute.All)
                text.AppendLine(c, $"| {attribute.Name} | {Percent(Base.Accuracy(attribute))} |");
            text.AppendLine();
            text.AppendLine("| monitor | mean |");
            text.AppendLine("| --- | --- |");
            for (var m = 0; m < MonitorNames.Count; m++)
                text.AppendLine(c, $"| {MonitorNames[m]} | {Plain(Base.Monitor(m))} |");
            text.AppendLine();
            text.AppendLine(c, $"Diversity (mean pairwise RMS pixel distance between a caption's seeds): {Base.Diversity:F4}.");
            AppendAgreement(text);
            return text.ToString();
        }
        text.AppendLine("| attribute | base | aligned | gain | gain / s.e. |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var attribute in GradedAttribute.All)
        {
            var gain = Gain(attribute);
            text.AppendLine(c, $"| {attribute.Name} | {Percent(Base.Accuracy(attribute))} | {Percent(Aligned.Accuracy(attribute))} | {gain.Mean * 100:+0.0;-0.0;0.0} +- {gain.StandardError * 100:F1} pts | {(double.IsNaN(gain.StandardErrors) ? "-" : gain.StandardErrors.ToString("F1", c))} |");
        }
        text.AppendLine();
        text.AppendLine("| monitor | base | aligned | change |");
        text.AppendLine("| --- | --- | --- | --- |");
        for (var m = 0; m < MonitorNames.Count; m++)
        {
            var gain = MonitorGain(m);
            text.AppendLine(c, $"| {MonitorNames[m]} | {Plain(Base.Monitor(m))} | {Plain(Aligned.Monitor(m))} | {gain.Mean:+0.####;-0.####;0} +- {gain.StandardError:G3} |");
        }
        text.AppendLine();
        text.AppendLine(c, $"Diversity (mean pairwise RMS pixel distance between a caption's seeds): base {Base.Diversity:F4}, aligned {Aligned.Diversity:F4} ({DiversityRatio * 100:F0}% of the base).");
        AppendAgreement(text);
        return text.ToString();
    }

    /// <summary>
    /// Whether the first monitor (the training reward, or the preference model's score) sees each attribute on the
    /// base model's images: its within-caption <see cref="RankingAgreement"/> with the measurer.
    /// </summary>
    private void AppendAgreement(StringBuilder text)
    {
        if (MonitorNames.Count == 0) return;
        var c = CultureInfo.InvariantCulture;
        var parts = GradedAttribute.All.Select(a => (a.Name, Agreement: Base.Agreement(a, 0))).Where(p => p.Agreement.Pairs > 0)
            .Select(p => string.Create(c, $"{p.Name} {p.Agreement.Share * 100:F0}% of {p.Agreement.Pairs} pairs")).ToList();
        text.AppendLine();
        text.AppendLine(parts.Count == 0
            ? $"Does the {MonitorNames[0]} see the attributes? No caption has both right and wrong base images, so it cannot be told."
            : $"Does the {MonitorNames[0]} see the attributes? Within a caption, it ranks a base image with the attribute right above one with it wrong in: {string.Join("; ", parts)} (50% = blind: training towards it cannot teach that attribute).");
    }

    private static string Percent(Estimate e) => string.Create(CultureInfo.InvariantCulture, $"{e.Mean * 100:F1}% +- {e.StandardError * 100:F1}");

    private static string Plain(Estimate e) => string.Create(CultureInfo.InvariantCulture, $"{e.Mean:G4} +- {e.StandardError:G3}");
}
