using System.Collections.Concurrent;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// A thread-safe memo with a size bound. When the bound is passed the cache starts over empty:
/// prompts in training repeat a small working set of words, which refills it at once, and no
/// per-hit bookkeeping is paid as an LRU would. Between two clears it may briefly hold one extra
/// entry per thread that is adding at that moment.
/// </summary>
internal sealed class BoundedConcurrentCache<TKey, TValue> where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries;
    private int _count;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> entries.</summary>
    public BoundedConcurrentCache(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        _entries = new ConcurrentDictionary<TKey, TValue>(comparer);
    }

    /// <summary>The most entries held at once.</summary>
    public int Capacity { get; }

    /// <summary>The number of entries held (takes every lock of the dictionary: for diagnostics and tests).</summary>
    public int Count => _entries.Count;

    /// <summary>The cached value of <paramref name="key"/>, computing and storing it when absent.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> compute)
    {
        if (_entries.TryGetValue(key, out var cached)) return cached;
        var value = compute(key);
        if (_entries.TryAdd(key, value) && Interlocked.Increment(ref _count) > Capacity)
        {
            // Several threads may see the overflow; each clear is harmless, and the count is reset
            // to what remains so the bound keeps holding.
            _entries.Clear();
            Interlocked.Exchange(ref _count, _entries.Count);
        }
        return value;
    }
}
