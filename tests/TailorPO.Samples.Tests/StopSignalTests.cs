using TailorPO.Samples.Cli;

namespace TailorPO.Samples.Tests;

/// <summary>
/// SIGTERM (docker stop, systemd, Kubernetes) stops an align run the way Ctrl+C does: the handler cancels the run once
/// and keeps the process alive so the checkpoint is written; a second signal ends it. (A real signal sent to a child
/// process, and the resume after it: CrashConsistencyTests.)
/// </summary>
public sealed class StopSignalTests
{
    [Fact]
    public void The_stop_handler_cancels_once_and_keeps_the_process_alive_then_lets_a_second_signal_through()
    {
        using var cancellation = new CancellationTokenSource();
        var handler = CliApplication.StopOnSignal(cancellation);
        var first = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGTERM);
        handler(first);
        Assert.True(first.Cancel);
        Assert.True(cancellation.IsCancellationRequested);
        var second = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGTERM);
        handler(second);
        Assert.False(second.Cancel);
    }
}
