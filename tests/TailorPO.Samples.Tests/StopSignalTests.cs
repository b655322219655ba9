using System.Diagnostics;
using System.Text.Json.Nodes;
using TailorPO.Samples.Cli;
using TailorPO.Training;
using TailorPO.Training.Checkpoints;
using Xunit.Abstractions;

namespace TailorPO.Samples.Tests;

/// <summary>
/// SIGTERM (docker stop, systemd, Kubernetes) stops an align run the way Ctrl+C does: after the current step, with its
/// checkpoint written, and the run resumes from it. The CLI runs as a child process that receives a real signal.
/// </summary>
public sealed class StopSignalTests(ITestOutputHelper output)
{
    [Fact]
    public void Sigterm_stops_align_after_its_step_with_a_checkpoint_and_the_run_resumes()
    {
        Assert.True(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals: this test runs on Linux and macOS.");
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var metrics = Path.Combine(run, "metrics.csv");
        using var child = new CliChildProcess("align", "--budget", "1000", "--steps", "5", "--trained-steps", "5", "--eval-seeds", "2",
            "--threads", "1", "-o", run);
        var started = Stopwatch.StartNew();
        while (!child.HasExited && ReadLines(metrics) < 3 && started.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(100);
        Assert.True(!child.HasExited && ReadLines(metrics) >= 3, "the run did not start training:\n" + child.Output);

        var clock = Stopwatch.StartNew();
        child.Signal("TERM");
        var code = child.WaitForExit(TimeSpan.FromSeconds(60));
        output.WriteLine($"SIGTERM to exit: {clock.Elapsed.TotalSeconds:F2} s");

        Assert.True(code == ExitCodes.Cancelled, $"exit code {code}:\n{child.Output}");
        Assert.Contains("Stopped.", child.Output);
        Assert.Contains("--resume", child.Output);
        var checkpoint = Path.Combine(run, PreferenceTrainer.CheckpointFolderName);
        var (counters, tensors) = TrainingCheckpoint.Read(checkpoint); // complete and verified
        foreach (var tensor in tensors.Values) tensor.Dispose();
        Assert.InRange(counters.Samples, 0, 999);

        var (resumed, text) = CliRunner.Run("align", "--resume", run, "--budget", (counters.Samples + 2).ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", "1");
        Assert.True(resumed == ExitCodes.Success, text);
        var samples = (long)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainingCheckpoint.CountersFile)))!["Samples"]!;
        Assert.Equal(counters.Samples + 2, samples);
    }

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

    private static int ReadLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var count = 0;
            while (reader.ReadLine() is not null) count++;
            return count;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
