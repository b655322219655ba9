using System.Buffers;
using System.Runtime.CompilerServices;

namespace TailorPO.Rewards.Jpeg;

/// <summary>
/// The bytes of one JPEG file under construction: marker segments written byte-wise and the
/// entropy-coded segment written bit-wise, most significant bit first, with a 0x00 stuffed
/// after every 0xFF data byte (T.81 F.1.2.3). The buffer is rented from the shared array pool
/// and grows on demand; <see cref="Dispose"/> returns it.
/// </summary>
internal sealed class JpegStreamWriter : IDisposable
{
    // Enough for the worst MCU of 4:2:0 (6 blocks, each at most 64 codes of 27 bits, doubled
    // by stuffing), so that bits can be written without bounds checks inside an MCU.
    public const int MaxBytesPerMcu = 6 * 64 * 27 / 8 * 2 + 16;

    private byte[] _buffer;
    private int _length;
    private ulong _bitBuffer;
    private int _bitCount;

    /// <summary>Creates a writer with an initial capacity (it grows when needed).</summary>
    public JpegStreamWriter(int initialCapacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 1024));
    }

    /// <summary>Bytes written so far (bits still pending are not counted).</summary>
    public int Length => _length;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Makes room for at least <paramref name="count"/> more bytes.</summary>
    public void EnsureCapacity(int count)
    {
        if (_length + count <= _buffer.Length) return;
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    /// <summary>Writes one byte (marker data; no stuffing).</summary>
    public void WriteByte(byte value)
    {
        EnsureCapacity(1);
        _buffer[_length++] = value;
    }

    /// <summary>Writes a big-endian 16-bit value.</summary>
    public void WriteUInt16(int value)
    {
        EnsureCapacity(2);
        _buffer[_length++] = (byte)(value >> 8);
        _buffer[_length++] = (byte)value;
    }

    /// <summary>Writes bytes verbatim.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        EnsureCapacity(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>
    /// Appends the low <paramref name="count"/> bits of <paramref name="bits"/> (at most 32) to
    /// the entropy-coded data. The caller has reserved space with <see cref="EnsureCapacity"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBits(uint bits, int count)
    {
        _bitBuffer = (_bitBuffer << count) | bits;
        _bitCount += count;
        while (_bitCount >= 8)
        {
            _bitCount -= 8;
            var b = (byte)(_bitBuffer >> _bitCount);
            _buffer[_length++] = b;
            if (b == 0xFF) _buffer[_length++] = 0;
        }
    }

    /// <summary>Ends the entropy-coded data: pads a partial byte with 1 bits, as libjpeg does.</summary>
    public void FlushBits()
    {
        EnsureCapacity(2);
        if (_bitCount > 0) WriteBits(0x7F, 7);
        _bitBuffer = 0;
        _bitCount = 0;
    }

    /// <summary>Copies the file out.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }
}
