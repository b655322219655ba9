using System.Diagnostics;
using System.Text;

namespace TailorPO.Docs.Tests;

/// <summary>The outcome of a child process: exit code, combined output and wall time.</summary>
/// <param name="ExitCode">The exit code (-1 after a timeout).</param>
/// <param name="Output">stdout and stderr, interleaved as they arrived.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record ChildProcessResult(int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>The last <paramref name="lines"/> lines of the output (a failure message should not drown the log).</summary>
    public string Tail(int lines = 60) => string.Join("\n", Output.Split('\n').TakeLast(lines));
}

/// <summary>Runs <c>dotnet</c> commands the way a user's shell would, isolated from the test host's MSBuild state.</summary>
public static class ChildProcess
{
    /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="workingDirectory"/> and waits at most <paramref name="timeout"/>.</summary>
    public static ChildProcessResult Dotnet(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        // `dotnet test` hands its MSBuild settings to the test host; a nested build must not inherit them.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        // No build server or compiler server may outlive the command: they would keep our output pipes open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // docs/performance.md's advice for a shared machine: libtorch's default thread pool is 10-50x slower there.
        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["MKL_NUM_THREADS"] = "1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) return new ChildProcessResult(-1, output + $"\n[timed out after {timeout.TotalSeconds:F0} s]", stopwatch.Elapsed);
        }
        process.WaitForExit(); // drains the asynchronous readers
        lock (output) return new ChildProcessResult(process.ExitCode, output.ToString(), stopwatch.Elapsed);
    }
}
