using Spectre.Console;

namespace TailorPO.Reproduction.Tests;

/// <summary>The harness's own command line: --help, and a bad argument answered with the usage before any work.</summary>
public class ReproductionProgramTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_every_option_the_parser_accepts_and_succeeds(string help)
    {
        var (code, text) = await RunAsync(help);
        Assert.Equal(ReproductionProgram.Success, code);
        foreach (var option in new[] { "--quick", "-o, --output", "--work", "--threads", "--reverse", "--help" }) Assert.Contains(option, text, StringComparison.Ordinal);
        // Every option the text names is one the parser takes.
        var parsed = ReproductionProgram.Parse(["--quick", "-o", "/tmp/docs", "--work", "/tmp/work", "--threads", "1", "--reverse"]);
        Assert.Equal((true, "/tmp/docs", "/tmp/work", 1, true), (parsed.Quick, parsed.OutputFolder, parsed.WorkFolder, parsed.Threads, parsed.Reverse));
        Assert.False(ReproductionProgram.Parse(["--quick"]).Reverse);
    }

    [Fact]
    public async Task A_bad_argument_is_named_with_the_usage_and_exits_with_the_bad_input_code()
    {
        var (code, text) = await RunAsync("--quick", "--frobnicate");
        Assert.Equal(ReproductionProgram.BadInput, code);
        Assert.Contains("Unknown argument '--frobnicate'.", text, StringComparison.Ordinal);
        Assert.Contains("Usage: tailorpo-reproduction", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_stops_a_background_run_like_ctrl_c_with_the_cancelled_exit_code()
    {
        // A job started with `nohup ... &` ignores SIGINT, so SIGTERM is how docs/reproduction.md's background run is stopped.
        if (!OperatingSystem.IsLinux()) return;
        var folder = Path.Combine(Path.GetTempPath(), "tailorpo-sigterm-" + Guid.NewGuid().ToString("N"));
        try
        {
            var program = Path.Combine(AppContext.BaseDirectory, "tailorpo-reproduction");
            var start = new System.Diagnostics.ProcessStartInfo(program)
            {
                ArgumentList = { "--quick", "--output", Path.Combine(folder, "docs"), "--work", Path.Combine(folder, "work"), "--threads", "1" },
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var child = System.Diagnostics.Process.Start(start)!;
            var output = new System.Text.StringBuilder();
            var measuring = new TaskCompletionSource();
            child.OutputDataReceived += (_, e) =>
            {
                lock (output) output.AppendLine(e.Data);
                if (e.Data?.Contains("section 1 of", StringComparison.Ordinal) == true) measuring.TrySetResult();
            };
            child.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            await measuring.Task.WaitAsync(TimeSpan.FromMinutes(2));

            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await child.WaitForExitAsync(timeout.Token);

            string text;
            lock (output) text = output.ToString();
            Assert.True(child.ExitCode == ReproductionProgram.Cancelled, $"exit code {child.ExitCode}:\n{text}");
            Assert.Contains("Stopped. Finished runs are cached; the same command continues.", text, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_failure_is_reported_by_its_message_and_the_failed_exit_code_not_by_a_crash()
    {
        // A work folder made by another sizing: the runner refuses it with an exception, which must not escape as a crash.
        var folder = Path.Combine(Path.GetTempPath(), "tailorpo-failed-" + Guid.NewGuid().ToString("N"));
        try
        {
            var work = Path.Combine(folder, "work");
            Directory.CreateDirectory(work);
            await File.WriteAllTextAsync(Path.Combine(work, "sizing.json"), "{\"Name\": \"quick\", \"Steps\": 99}");
            var (code, text) = await RunAsync("--quick", "--output", Path.Combine(folder, "docs"), "--work", work, "--threads", "1");
            Assert.Equal(ReproductionProgram.Failed, code);
            text = System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " "); // the console wraps long lines
            Assert.Contains("Failed: The work folder", text, StringComparison.Ordinal);
            Assert.Contains("holds runs of a different quick sizing", text, StringComparison.Ordinal);
            Assert.Contains("the same command continues once the cause is fixed", text, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(int Code, string Text)> RunAsync(params string[] args)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        var code = await ReproductionProgram.RunAsync(args, console);
        return (code, writer.ToString());
    }
}
