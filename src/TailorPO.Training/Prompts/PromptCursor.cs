namespace TailorPO.Training.Prompts;

/// <summary>
/// Walks a prompt list in epochs, each epoch a permutation drawn from the run seed and the epoch number, so the
/// order is deterministic per seed and a checkpoint restores it exactly from (<see cref="Epoch"/>, <see cref="Position"/>).
/// </summary>
public sealed class PromptCursor
{
    private readonly IReadOnlyList<string> _prompts;
    private readonly long _seed;
    private int[] _order;

    /// <summary>Creates the cursor at the start of epoch 0.</summary>
    public PromptCursor(IReadOnlyList<string> prompts, long seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("No prompts.", nameof(prompts));
        _prompts = prompts;
        _seed = seed;
        _order = Permutation(0);
    }

    /// <summary>The current epoch.</summary>
    public int Epoch { get; private set; }

    /// <summary>The position inside the current epoch's permutation.</summary>
    public int Position { get; private set; }

    /// <summary>The next <paramref name="count"/> prompts (crossing into the next epoch when needed).</summary>
    public IReadOnlyList<string> Next(int count)
    {
        var batch = new string[count];
        for (var i = 0; i < count; i++)
        {
            if (Position == _order.Length)
            {
                Epoch++;
                Position = 0;
                _order = Permutation(Epoch);
            }
            batch[i] = _prompts[_order[Position++]];
        }
        return batch;
    }

    /// <summary>Moves to a saved position.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The position is outside the epoch.</exception>
    public void Restore(int epoch, int position)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be >= 0.");
        if (position < 0 || position > _prompts.Count) throw new ArgumentOutOfRangeException(nameof(position), position, $"position must lie in [0, {_prompts.Count}].");
        Epoch = epoch;
        Position = position;
        _order = Permutation(epoch);
    }

    private int[] Permutation(int epoch)
    {
        var order = Enumerable.Range(0, _prompts.Count).ToArray();
        // System.Random with a seed is stable across .NET versions for the same seed and call sequence.
        new Random(HashCode(_seed, epoch)).Shuffle(order);
        return order;
    }

    private static int HashCode(long seed, int epoch) => unchecked((int)(seed * 1_000_003L) ^ (epoch * 7919) ^ (int)(seed >> 32));
}
