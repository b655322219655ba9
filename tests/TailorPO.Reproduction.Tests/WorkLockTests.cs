using System.Diagnostics;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction.Tests;

/// <summary>
/// The cross-process lock two harness processes share a work folder through: a second holder waits until the first
/// releases, waiting can be cancelled, and the lock is the kernel's flock - so another process (util-linux's flock(1))
/// sees it and a dead holder's lock is gone.
/// </summary>
public sealed class WorkLockTests : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private readonly string _folder = Directory.CreateTempSubdirectory("tailorpo-worklock-").FullName;
    private string LockPath => Path.Combine(_folder, "sub", ".lock");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_second_acquire_waits_while_the_first_holds_the_lock_and_completes_after_release()
    {
        var first = await WorkLock.AcquireAsync(LockPath, Poll, CancellationToken.None);
        // Two opens in one process conflict as well: flock locks the open file description, not the process.
        Assert.Null(WorkLock.TryAcquire(LockPath));
        var second = WorkLock.AcquireAsync(LockPath, Poll, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var taken = await second.WaitAsync(TimeSpan.FromSeconds(10));
        // Released, the file stays (deleting it would race with another opener).
        Assert.True(File.Exists(LockPath));
    }

    [Fact]
    public async Task Cancelling_a_waiting_acquire_throws_and_leaves_the_lock_with_its_holder()
    {
        using var held = await WorkLock.AcquireAsync(LockPath, Poll, CancellationToken.None);
        using var cancellation = new CancellationTokenSource();
        var waiting = WorkLock.AcquireAsync(LockPath, Poll, cancellation.Token);
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(WorkLock.TryAcquire(LockPath));
        Assert.Throws<OperationCanceledException>(() => WorkLock.Acquire(LockPath, cancellation.Token));
    }

    [Fact]
    public async Task The_lock_is_an_flock_another_process_sees_and_a_dead_holder_leaves_none()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock")) return;
        Directory.CreateDirectory(Path.GetDirectoryName(LockPath)!);

        // Held here: flock(1) in another process cannot take it (-n: fail instead of waiting), and can once it is released.
        using (await WorkLock.AcquireAsync(LockPath, Poll, CancellationToken.None))
            Assert.Equal(1, await FlockAsync("-n", LockPath, "-c", "true"));
        Assert.Equal(0, await FlockAsync("-n", LockPath, "-c", "true"));

        // Held by another process: this one waits, and takes it as soon as that process is gone (killed, not released).
        using var holder = Start("-x", LockPath, "-c", "echo held; sleep 60");
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        var waiting = WorkLock.AcquireAsync(LockPath, Poll, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(waiting.IsCompleted);
        holder.Kill(entireProcessTree: true);
        using var taken = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/flock") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    private static async Task<int> FlockAsync(params string[] args)
    {
        using var process = Start(args);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return process.ExitCode;
    }
}
