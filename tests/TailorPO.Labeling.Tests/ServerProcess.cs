using System.Diagnostics;
using System.Text.RegularExpressions;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

/// <summary>
/// The labelling app as a real child process on loopback (so a test can kill -9 it): started on an existing data
/// folder with a known admin token, on a free port, and waited for until it prints its address.
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process, string address) => (_process, Address) = (process, address);

    /// <summary>http://127.0.0.1:port</summary>
    public string Address { get; }

    /// <summary>The admin token the server was started with.</summary>
    public static readonly string AdminToken = AnnotatorTokens.Create();

    /// <summary>Starts the app on <paramref name="dataFolder"/> and waits (at most <paramref name="timeout"/>) for its address.</summary>
    public static ServerProcess Start(string dataFolder, int annotatorsPerPair, TimeSpan? timeout = null)
    {
        var app = Path.Combine(AppContext.BaseDirectory, "TailorPO.Labeling.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataFolder,
        };
        foreach (var argument in new[] { app, "serve", "--data", dataFolder, "--port", "0", "--admin-token", AdminToken, "--annotators-per-pair", annotatorsPerPair.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(argument);
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        var lines = new System.Collections.Concurrent.BlockingCollection<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Add("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            if (!lines.TryTake(out var line, TimeSpan.FromMilliseconds(200)))
            {
                if (process.HasExited) break;
                continue;
            }
            seen.Add(line);
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                var server = new ServerProcess(process, match.Groups[1].Value);
                server._output.AddRange(seen);
                return server;
            }
        }
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        throw new InvalidOperationException("The labelling app did not start:\n" + string.Join("\n", seen));
    }

    /// <summary>SIGKILL: no shutdown code runs (Process.Kill sends SIGKILL on Unix).</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) KillHard();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
