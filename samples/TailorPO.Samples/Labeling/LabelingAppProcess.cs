using System.Diagnostics;

namespace TailorPO.Samples.Labeling;

/// <summary>
/// Runs the labelling app as a child process with the CLI's arguments, its output copied line by line, and a stop
/// request forwarded: on cancellation the child gets SIGINT (its Ctrl+C: the server stops serving and closes its
/// database), and is killed only if it has not exited after <see cref="StopGrace"/>.
/// </summary>
public static class LabelingAppProcess
{
    /// <summary>How long a stopped child may take to exit before it is killed.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    /// <summary>Starts the app at <paramref name="location"/> with <paramref name="arguments"/> and returns its exit code.</summary>
    /// <param name="location">Where the app is (<see cref="LabelingAppLocation.Find()"/>).</param>
    /// <param name="arguments">The arguments after <c>tailorpo label</c>, forwarded unchanged.</param>
    /// <param name="output">Receives the child's standard output.</param>
    /// <param name="error">Receives the child's standard error.</param>
    /// <param name="cancellationToken">Stops the child (SIGINT, then a kill after the grace period).</param>
    public static async Task<int> RunAsync(LabelingAppLocation location, IReadOnlyList<string> arguments, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var start = new ProcessStartInfo(location.FileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in location.Arguments.Concat(arguments)) start.ArgumentList.Add(argument);
        using var process = new Process { StartInfo = start };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) lock (gate) output.WriteLine(line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (gate) error.WriteLine(line); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interrupt(process);
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            throw;
        }
        return process.ExitCode;
    }

    /// <summary>Asks the child to stop as Ctrl+C would (SIGINT through kill(1) on Unix; elsewhere there is no such signal, so it is killed).</summary>
    private static void Interrupt(Process process)
    {
        if (process.HasExited) return;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit();
        }
        else process.Kill(entireProcessTree: true);
    }
}
