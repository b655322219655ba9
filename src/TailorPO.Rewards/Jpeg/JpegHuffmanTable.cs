namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// One Huffman table as a DHT segment specifies it (counts of codes per length 1..16 and the
/// symbols in code order) with the canonical codes of ITU T.81 Annex C derived from it.
/// </summary>
internal sealed class JpegHuffmanTable
{
    private readonly uint[] _code = new uint[256];
    private readonly byte[] _length = new byte[256];

    /// <summary>Builds the table and its codes.</summary>
    /// <param name="countsPerLength">16 entries: how many codes have length 1, 2, ..., 16.</param>
    /// <param name="symbols">The symbols in order of increasing code.</param>
    public JpegHuffmanTable(byte[] countsPerLength, byte[] symbols)
    {
        if (countsPerLength.Length != 16)
            throw new ArgumentException($"A Huffman table needs 16 code-length counts, got {countsPerLength.Length}.", nameof(countsPerLength));
        var total = countsPerLength.Sum(c => c);
        if (total != symbols.Length)
            throw new ArgumentException($"The code-length counts add up to {total} but {symbols.Length} symbols were given.", nameof(symbols));

        CountsPerLength = countsPerLength;
        Symbols = symbols;

        // Annex C: codes of one length are consecutive; moving to the next length appends a 0 bit.
        uint code = 0;
        var next = 0;
        for (var length = 1; length <= 16; length++)
        {
            for (var i = 0; i < countsPerLength[length - 1]; i++)
            {
                var symbol = symbols[next++];
                _code[symbol] = code++;
                _length[symbol] = (byte)length;
            }
            code <<= 1;
        }
    }

    /// <summary>Number of codes of each length 1..16, as written in DHT.</summary>
    public byte[] CountsPerLength { get; }

    /// <summary>Symbols in code order, as written in DHT.</summary>
    public byte[] Symbols { get; }

    /// <summary>The code of a symbol (right-aligned).</summary>
    public uint Code(int symbol) => _code[symbol];

    /// <summary>The code length of a symbol in bits; 0 when the table has no code for it.</summary>
    public int Length(int symbol) => _length[symbol];
}
