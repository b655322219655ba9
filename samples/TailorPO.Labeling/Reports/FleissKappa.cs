namespace TailorPO.Labeling.Reports;

/// <summary>
/// Fleiss' kappa (Fleiss 1971): agreement among several raters assigning subjects to categories, beyond what chance
/// agreement at the observed category shares would give. Subjects may have different numbers of raters (at least 2):
/// each subject's agreement P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)) is averaged, and the category shares p_j pool
/// all ratings; with the same number of raters everywhere this is Fleiss' original statistic.
/// </summary>
internal static class FleissKappa
{
    /// <summary>Kappa of the count table (row i: how many raters put subject i in each category); NaN when undefined.</summary>
    /// <returns>Kappa, or NaN when no subject has two ratings or every rating falls in one category (chance agreement 1).</returns>
    public static double Compute(IReadOnlyList<int[]> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var rows = counts.Where(r => r.Sum() >= 2).ToList();
        if (rows.Count == 0) return double.NaN;
        var categories = rows[0].Length;
        if (rows.Any(r => r.Length != categories || r.Any(c => c < 0)))
            throw new ArgumentException("Every row must count the same categories, with no negative count.", nameof(counts));
        var agreement = rows.Average(r =>
        {
            double n = r.Sum();
            return (r.Sum(c => (double)c * c) - n) / (n * (n - 1));
        });
        double total = rows.Sum(r => r.Sum());
        var chance = Enumerable.Range(0, categories).Sum(j => Math.Pow(rows.Sum(r => r[j]) / total, 2));
        return chance >= 1 ? double.NaN : (agreement - chance) / (1 - chance);
    }
}
