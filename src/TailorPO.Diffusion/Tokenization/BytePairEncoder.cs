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

    /// <summary>
    /// The BPE merge loop on a word's symbols, with openai/CLIP's semantics: repeatedly take the adjacent
    /// pair of lowest rank and merge every occurrence of it, left to right and non-overlapping, until no
    /// ranked pair remains. Written with a linked list and a heap of candidate pairs (O(n log n)) instead of
    /// rebuilding the word per rank (O(n^2): seconds for a 40,000-letter word); the result is the same
    /// because each round collects all occurrences of the lowest rank present and merges them in word order.
    /// </summary>
    internal List<string> Merge(List<string> word)
    {
        int n = word.Count;
        if (n < 2) return word;
        var symbols = word.ToArray();
        var next = new int[n];
        var previous = new int[n];
        var version = new int[n];
        var alive = new bool[n];
        for (var k = 0; k < n; k++)
        {
            next[k] = k + 1 < n ? k + 1 : -1;
            previous[k] = k - 1;
            alive[k] = true;
        }

        // Entries: (left node, right node, their versions when pushed), ordered by rank then position.
        var heap = new PriorityQueue<(int Left, int Right, int LeftVersion, int RightVersion), (int Rank, int Position)>();
        void Push(int left, int right)
        {
            if (left < 0 || right < 0) return;
            if (_ranks.TryGetValue((symbols[left], symbols[right]), out var rank))
                heap.Enqueue((left, right, version[left], version[right]), (rank, left));
        }
        bool Valid((int Left, int Right, int LeftVersion, int RightVersion) e) =>
            alive[e.Left] && alive[e.Right] && next[e.Left] == e.Right && version[e.Left] == e.LeftVersion && version[e.Right] == e.RightVersion;

        for (var k = 0; k + 1 < n; k++) Push(k, k + 1);
        var round = new List<(int Left, int Right, int LeftVersion, int RightVersion)>();
        while (heap.TryPeek(out _, out var top))
        {
            // One round: every occurrence of the lowest-rank pair present, in word order (node indices keep word order).
            round.Clear();
            while (heap.TryPeek(out var entry, out var priority) && priority.Rank == top.Rank)
            {
                heap.Dequeue();
                if (Valid(entry)) round.Add(entry);
            }
            round.Sort((x, y) => x.Left.CompareTo(y.Left));
            foreach (var entry in round)
            {
                if (!Valid(entry)) continue; // its left symbol was taken by the occurrence just before it
                var (left, right, _, _) = entry;
                symbols[left] += symbols[right];
                alive[right] = false;
                version[left]++;
                next[left] = next[right];
                if (next[right] >= 0) previous[next[right]] = left;
                Push(previous[left], left);
                Push(left, next[left]);
            }
        }

        var result = new List<string>();
        for (var k = 0; k >= 0; k = next[k]) result.Add(symbols[k]);
        return result;
    }
}
