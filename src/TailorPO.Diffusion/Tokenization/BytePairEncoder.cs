using System.Text;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>
/// CLIP's byte-level BPE over one pre-tokenized piece: UTF-8 bytes become byte symbols, the last
/// symbol carries <c>&lt;/w&gt;</c>, then the adjacent pair of lowest merge rank is merged everywhere
/// (left to right, non-overlapping) until no ranked pair remains. Results are memoised per piece.
/// </summary>
internal sealed class BytePairEncoder
{
    /// <summary>The end-of-word marker appended to the last symbol of every piece.</summary>
    public const string EndOfWord = "</w>";

    private readonly IReadOnlyDictionary<string, int> _vocabulary;
    private readonly Dictionary<(string First, string Second), int> _ranks;
    private readonly IReadOnlyDictionary<string, int> _specialTokens;
    private readonly int _unknownId;
    private readonly BoundedConcurrentCache<string, int[]> _cache;

    /// <summary>Creates the encoder. A pair listed twice keeps its last rank, as a Python dict built from the list does.</summary>
    public BytePairEncoder(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<(string First, string Second)> merges,
        IReadOnlyDictionary<string, int> specialTokens, int unknownId, int cacheCapacity)
    {
        _vocabulary = vocabulary;
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++) _ranks[merges[rank]] = rank;
        _specialTokens = specialTokens;
        _unknownId = unknownId;
        _cache = new BoundedConcurrentCache<string, int[]>(cacheCapacity, StringComparer.Ordinal);
    }

    /// <summary>The number of merge rules.</summary>
    public int MergeCount => _ranks.Count;

    /// <summary>The per-piece cache (exposed for tests of its bound).</summary>
    internal BoundedConcurrentCache<string, int[]> Cache => _cache;

    /// <summary>Appends the ids of one piece. A piece that is exactly a special token maps to its id unsplit.</summary>
    public void Encode(string piece, List<int> ids)
    {
        if (_specialTokens.TryGetValue(piece, out var special))
        {
            ids.Add(special);
            return;
        }
        ids.AddRange(_cache.GetOrAdd(piece, EncodeUncached));
    }

    private int[] EncodeUncached(string piece)
    {
        var symbols = Merge(ToByteSymbols(piece));
        var ids = new int[symbols.Count];
        for (var k = 0; k < ids.Length; k++)
            ids[k] = _vocabulary.TryGetValue(symbols[k], out var id) ? id : _unknownId;
        return ids;
    }

    private static List<string> ToByteSymbols(string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        var symbols = new List<string>(bytes.Length);
        foreach (var b in bytes) symbols.Add(ByteLevelAlphabet.ByteToChar[b].ToString());
        symbols[^1] += EndOfWord;
        return symbols;
    }

    /// <summary>The BPE merge loop on a word's symbols.</summary>
    internal List<string> Merge(List<string> word)
    {
        while (word.Count > 1)
        {
            var bestRank = int.MaxValue;
            (string First, string Second) best = default;
            for (var k = 0; k + 1 < word.Count; k++)
            {
                if (_ranks.TryGetValue((word[k], word[k + 1]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (word[k], word[k + 1]);
                }
            }
            if (bestRank == int.MaxValue) break;

            var merged = new List<string>(word.Count - 1);
            for (var k = 0; k < word.Count;)
            {
                if (k + 1 < word.Count && word[k] == best.First && word[k + 1] == best.Second)
                {
                    merged.Add(best.First + best.Second);
                    k += 2;
                }
                else
                {
                    merged.Add(word[k]);
                    k++;
                }
            }
            word = merged;
        }
        return word;
    }
}
