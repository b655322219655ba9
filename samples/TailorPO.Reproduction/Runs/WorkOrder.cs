namespace TailorPO.Reproduction.Runs;

/// <summary>
/// The order the harness works through a list in: as listed, or reversed for a second process sharing the work folder
/// (<c>--reverse</c>), so the two start at opposite ends and mostly train different runs. The results always come back
/// in list order, because callers index them by position (seed i, rate i, section i) and the page must not depend on
/// the order the work was done in.
/// </summary>
public static class WorkOrder
{
    /// <summary>The indices 0 .. <paramref name="count"/> - 1, in the order to visit them.</summary>
    public static IEnumerable<int> Indices(int count, bool reverse)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var indices = Enumerable.Range(0, count);
        return reverse ? indices.Reverse() : indices;
    }

    /// <summary>
    /// <paramref name="map"/> of every item, awaited one at a time in the visiting order, returned in the order of
    /// <paramref name="items"/>.
    /// </summary>
    public static async Task<IReadOnlyList<TResult>> MapAsync<TItem, TResult>(IReadOnlyList<TItem> items, bool reverse, Func<TItem, Task<TResult>> map)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(map);
        var results = new TResult[items.Count];
        foreach (var i in Indices(items.Count, reverse)) results[i] = await map(items[i]).ConfigureAwait(false);
        return results;
    }
}
