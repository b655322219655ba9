namespace TailorPO.Reproduction.Runs;

/// <summary>
/// An exclusive lock on a file, held across processes, so two harness processes can share one work folder: whoever holds
/// a run's (or an analysis's) lock is the only one computing it, and the other waits and then reads the result.
/// </summary>
/// <remarks>
/// The lock is an open <see cref="FileStream"/> with <see cref="FileShare.None"/>. On Linux and macOS .NET backs that with
/// <c>flock(LOCK_EX | LOCK_NB)</c> on the opened file (an advisory lock of the open file description), so a second open -
/// in this process or another - fails with an <see cref="IOException"/> while the first is open, and the kernel releases
/// the lock when its holder dies, even by SIGKILL: a killed process never leaves a stale lock behind. On Windows the share
/// mode itself conflicts. The lock file is left in place on release: deleting it would race with a process that has just
/// opened it (it would then lock a file no longer in the folder while a third process locks a new one). .NET skips the
/// flock when file locking is switched off (the <c>System.IO.DisableFileLocking</c> runtime switch or the
/// <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> environment variable) and ignores an flock the file system refuses (only
/// "would block" counts as held), so two processes must share a work folder on a local file system, with locking on.
/// </remarks>
public sealed class WorkLock : IDisposable
{
    private readonly FileStream _stream;

    private WorkLock(string path, FileStream stream) => (Path, _stream) = (path, stream);

    /// <summary>How long <see cref="AcquireAsync(string, CancellationToken)"/> waits between attempts.</summary>
    public static TimeSpan DefaultPollInterval { get; } = TimeSpan.FromSeconds(2);

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock if it is free (creating the file and its folder when missing); null while another holder has it.</summary>
    public static WorkLock? TryAcquire(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
        try
        {
            return new WorkLock(path, new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        // A missing folder or a bad path is an IOException too, but not a held lock: those propagate.
        catch (IOException e) when (e is not (DirectoryNotFoundException or FileNotFoundException or PathTooLongException))
        {
            return null;
        }
    }

    /// <summary>Takes the lock, polling every <see cref="DefaultPollInterval"/> while another holder has it.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public static Task<WorkLock> AcquireAsync(string path, CancellationToken cancellationToken) =>
        AcquireAsync(path, DefaultPollInterval, cancellationToken);

    /// <summary>Takes the lock, polling every <paramref name="pollInterval"/> while another holder has it.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public static async Task<WorkLock> AcquireAsync(string path, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        // flock offers no asynchronous wait and a blocking flock could not be cancelled, so poll: the waits are for whole
        // training runs (minutes), against which a two-second poll costs nothing.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryAcquire(path) is { } taken) return taken;
            await Task.Delay(pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <see cref="AcquireAsync(string, CancellationToken)"/> for synchronous callers (the cached analyses). It blocks the
    /// calling thread, which is fine in the harness: it has no synchronization context and nothing else to do meanwhile.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public static WorkLock Acquire(string path, CancellationToken cancellationToken) =>
        AcquireAsync(path, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Releases the lock (closing the file releases the flock); the file stays.</summary>
    public void Dispose() => _stream.Dispose();
}
