using System.Text;

namespace TailorPO.Training.Metrics;

/// <summary>
/// A text file written one whole line per write call, unbuffered, so a killed process leaves complete lines only (a
/// write of a short line is not split), and which can be cut back to an earlier length on resume.
/// </summary>
internal sealed class LineFile : IDisposable
{
    private readonly FileStream _stream;

    public LineFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // Not FileMode.Append: a stream opened for appending cannot be truncated below its starting length.
        _stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _stream.Seek(0, SeekOrigin.End);
    }

    public string Path { get; }

    public long Length => _stream.Length;

    public void WriteLine(string line) => _stream.Write(Encoding.UTF8.GetBytes(line + Environment.NewLine));

    public void Flush() => _stream.Flush(flushToDisk: false);

    public bool TruncateTo(long length)
    {
        if (length > _stream.Length) return false;
        _stream.SetLength(length);
        _stream.Seek(0, SeekOrigin.End);
        return true;
    }

    public void Dispose() => _stream.Dispose();
}
