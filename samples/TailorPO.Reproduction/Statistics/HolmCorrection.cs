namespace TailorPO.Reproduction.Statistics;

/// <summary>
/// Holm's step-down correction for a family of m p-values: sort ascending, the k-th smallest (k from 1) becomes
/// max over j ≤ k of min(1, (m - j + 1) p_(j)). It controls the family-wise error rate at the level used, without
/// assuming independence. Undefined (NaN) p-values stay NaN and do not count in m.
/// </summary>
public static class HolmCorrection
{
    /// <summary>The adjusted p-values, in the input's order.</summary>
    public static double[] Adjust(IReadOnlyList<double> pValues)
    {
        ArgumentNullException.ThrowIfNull(pValues);
        var adjusted = pValues.Select(_ => double.NaN).ToArray();
        var order = Enumerable.Range(0, pValues.Count).Where(i => !double.IsNaN(pValues[i])).OrderBy(i => pValues[i]).ToList();
        var m = order.Count;
        var running = 0.0;
        for (var k = 0; k < m; k++)
        {
            var p = pValues[order[k]];
            if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(pValues), p, "A p-value lies in [0, 1].");
            running = Math.Max(running, Math.Min(1, (m - k) * p));
            adjusted[order[k]] = running;
        }
        return adjusted;
    }
}
