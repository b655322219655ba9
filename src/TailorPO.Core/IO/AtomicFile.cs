namespace TailorPO.Core.IO;

/// <summary>
/// Writes a file so that readers only ever see the old file or the whole new one: the content goes to a temporary
/// file next to the target (same folder, so the same file system), is flushed to disk, and is renamed over the target.
/// A failure or a crash part-way leaves the target untouched and removes the temporary file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> atomically through a stream.</summary>
    /// <param name="path">The target file (its folder is created).</param>
    /// <param name="write">Writes the content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        WriteVia(path, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            write(stream);
            stream.Flush(flushToDisk: true);
        });
    }

    /// <summary>Writes <paramref name="path"/> atomically from text (UTF-8).</summary>
    /// <param name="path">The target file (its folder is created).</param>
    /// <param name="text">The content.</param>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
    }

    /// <summary>
    /// Writes <paramref name="path"/> atomically through a writer that takes a file path (an image encoder, a library
    /// that saves to a path): <paramref name="writeTo"/> writes the temporary file it is given, which is then renamed.
    /// </summary>
    /// <param name="path">The target file (its folder is created).</param>
    /// <param name="writeTo">Writes the complete content to the given temporary path.</param>
    public static void WriteVia(string path, Action<string> writeTo)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(writeTo);
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var temporary = fullPath + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            writeTo(temporary);
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
