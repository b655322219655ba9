
namespace TailorPO.Shapes.Evaluation;

/// <summary>One graded image: its caption's attributes, what was measured, and the monitors' scores.</summary>
/// <param name="Fidelity">Caption and measurement (the per-attribute verdicts).</param>
/// <param name="CaptionIndex">Index of the caption in the grade's list.</param>
/// <param name="SeedIndex">Index of the seed (0 .. seeds - 1).</param>
/// <param name="Monitors">One score per monitor, in the grade's monitor order.</param>
public sealed record GradedImage(FidelitySample Fidelity, int CaptionIndex, int SeedIndex, IReadOnlyList<double> Monitors);
