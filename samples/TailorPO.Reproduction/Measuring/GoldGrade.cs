using TailorPO.Shapes.Evaluation;

namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// A model's GenEval-style grade, as the headline section keeps it per run and evaluation point (cached as JSON): the
/// share of graded images that <see cref="SceneMeasurer"/> finds right per attribute, the preference model's mean score
/// on them, and diversity.
/// </summary>
/// <param name="Accuracy">One share per attribute of <see cref="GradedAttribute.All"/>, in that order (shape, shape colour, background colour, pattern, all four).</param>
/// <param name="Preference">The embedded preference model's mean score over the graded images.</param>
/// <param name="Diversity">Mean pairwise RMS pixel distance between a caption's seeds (<see cref="ModelGrade.Diversity"/>).</param>
/// <param name="Images">Graded images.</param>
public sealed record GoldGrade(double[] Accuracy, double Preference, double Diversity, int Images)
{
    /// <summary>The share right on <paramref name="attribute"/> (a name of <see cref="GradedAttribute.All"/>).</summary>
    /// <exception cref="ArgumentException">Not an attribute of the grade.</exception>
    public double Of(string attribute)
    {
        var index = GradedAttribute.All.Select(a => a.Name).ToList().IndexOf(attribute);
        return index >= 0 ? Accuracy[index] : throw new ArgumentException($"Unknown attribute '{attribute}'.", nameof(attribute));
    }

    /// <summary>Summarises a grade of one model (the report's base grade).</summary>
    public static GoldGrade From(AttributeGradeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var model = report.Base;
        return new GoldGrade(GradedAttribute.All.Select(a => model.Accuracy(a).Mean).ToArray(), model.Monitor(0).Mean, model.Diversity, report.Count);
    }
}
