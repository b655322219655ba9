namespace TailorPO.Shapes.Dataset;

/// <summary>
/// A small counter-based pseudo-random generator (SplitMix64). The dataset and the caption dropout
/// draw from it so every sample is a pure function of (seed, index), independent of the runtime's
/// <see cref="Random"/> implementation and of the order samples are asked for.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    /// <summary>Starts a stream from a seed and a stream index.</summary>
    public SplitMix64(long seed, long stream = 0)
    {
        _state = (ulong)seed;
        _state = Next() ^ (ulong)stream * 0xD1B54A32D192ED03UL;
        Next();
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer in [0, <paramref name="count"/>).</summary>
    public int NextInt(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return (int)(NextDouble() * count);
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>] inclusive.</summary>
    public int NextInt(int min, int max) => min + NextInt(max - min + 1);
}
