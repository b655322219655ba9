namespace TailorPO.Training.Methods;

/// <summary>
/// Passes over a fixed set of items, each pass in a fresh order drawn from the run generator, and the position in the
/// current pass: the state a method over an offline set keeps in checkpoints (keys <c>order</c> and <c>cursor</c>), so
/// a resumed run continues with exactly the items an uninterrupted one would have used.
/// </summary>
internal sealed class EpochOrder(string owner)
{
    private int[] _order = [];
    private int _cursor;

    /// <summary>The next <paramref name="batch"/> indices into a set of <paramref name="count"/> items (a new pass starts when one ends).</summary>
    public int[] Next(TrainerContext context, int count, int batch)
    {
        var indices = new int[batch];
        for (var i = 0; i < batch; i++)
        {
            if (_cursor >= _order.Length) (_order, _cursor) = (context.Shuffle(count), 0);
            indices[i] = _order[_cursor++];
        }
        return indices;
    }

    /// <summary>The state as <see cref="Core.Abstractions.IStatefulComponent.ExportState"/> stores it.</summary>
    public Dictionary<string, double[]> Export() => new(StringComparer.Ordinal)
    {
        ["order"] = _order.Select(i => (double)i).ToArray(),
        ["cursor"] = [_cursor],
    };

    /// <summary>Restores a state from <see cref="Export"/>; <paramref name="count"/> (when known) is the size of the set it must index.</summary>
    /// <exception cref="InvalidDataException">The state is missing, inconsistent, or indexes another set.</exception>
    public void Import(IReadOnlyDictionary<string, double[]> state, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.TryGetValue("order", out var order) || !state.TryGetValue("cursor", out var cursor) || cursor.Length != 1)
            throw new InvalidDataException($"The {owner} state needs 'order' and a one-element 'cursor'.");
        if (cursor[0] < 0 || cursor[0] > order.Length || order.Any(i => i < 0 || i != Math.Floor(i)))
            throw new InvalidDataException($"The {owner} state is inconsistent: cursor {cursor[0]} over an order of {order.Length}.");
        if (count is { } n && order.Length > 0 && (order.Length != n || order.Any(i => i >= n)))
            throw new InvalidDataException($"The {owner} state orders {order.Length} items, but the set holds {n}: the checkpoint belongs to another set.");
        _order = order.Select(i => (int)i).ToArray();
        _cursor = (int)cursor[0];
    }
}
