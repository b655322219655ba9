using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TailorPO.Samples.Alignment;
using TailorPO.Samples.Cli;
using TailorPO.Training;
using TailorPO.Training.Checkpoints;
using Xunit.Abstractions;

namespace TailorPO.Samples.Tests;

/// <summary>
/// An align run that is killed (SIGKILL, at an exact point of the checkpoint and metrics protocol), stopped by SIGTERM,
/// or handed a damaged checkpoint: afterwards, resuming (or, with no checkpoint, starting afresh as the CLI says) ends
/// with the adapters and metrics files of an uninterrupted run, byte for byte (the wall-clock column aside), or the
/// damage is refused naming the file or the counter, with nothing changed. The killed and signalled runs are child
/// processes of the CLI on the embedded model; the test hook TAILORPO_TEST_CRASH_AT (TailorPO.Training's CrashTestHook)
/// makes a child kill itself at the chosen point. Every run: 12 iterations of one image, 2 DDIM steps both trained (the
/// fewest that still make a run: the eight runs of the class take about 1.5 minutes on 2 cores), so there is a checkpoint
/// at iteration 10 (AlignmentRun.CheckpointEveryIterations) and one at the end.
/// </summary>
[Trait("Category", "CrashConsistency")]
public sealed class CrashConsistencyTests(CrashConsistencyTests.UninterruptedRun reference, ITestOutputHelper output)
    : IClassFixture<CrashConsistencyTests.UninterruptedRun>
{
    /// <summary>CrashTestHook.Variable (internal to TailorPO.Training).</summary>
    private const string CrashVariable = "TAILORPO_TEST_CRASH_AT";

    /// <summary>One image per iteration: the run's checkpoints are at iteration CheckpointEveryIterations and at the end.</summary>
    private const int Budget = AlignmentRun.CheckpointEveryIterations + 2;

    private const int FirstCheckpoint = AlignmentRun.CheckpointEveryIterations;

    /// <summary>DDIM steps, all trained: one update each per iteration.</summary>
    private const int Steps = 2;

    private const int UpdatesPerIteration = Steps;

    /// <summary>The options of every run; each test adds -o or --resume.</summary>
    private static readonly string[] Options =
    [
        "--budget", Budget.ToString(CultureInfo.InvariantCulture), "--batch", "1",
        "--steps", Steps.ToString(CultureInfo.InvariantCulture), "--trained-steps", Steps.ToString(CultureInfo.InvariantCulture),
        "--eval-seeds", "2", "--threads", "1", "--grade-captions", "2", "--grade-seeds", "2",
    ];

    /// <summary>The uninterrupted run every test compares with, made once for the class.</summary>
    public sealed class UninterruptedRun : IDisposable
    {
        private readonly TemporaryFolder _folder = new();

        public UninterruptedRun()
        {
            Folder = _folder.Combine("uninterrupted");
            var clock = Stopwatch.StartNew();
            var (code, text) = CliRunner.Run(["align", "-o", Folder, .. Options]);
            Elapsed = clock.Elapsed;
            if (code != ExitCodes.Success) throw new InvalidOperationException($"The uninterrupted run failed ({code}):\n{text}");
        }

        public string Folder { get; }

        public TimeSpan Elapsed { get; }

        public void Dispose() => _folder.Dispose();
    }

    [Fact]
    public void Killed_before_the_first_checkpoint_the_run_starts_afresh_and_ends_as_if_never_killed()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");

        var killed = KillAt("before-first-checkpoint", run);

        Assert.False(Directory.Exists(Path.Combine(run, PreferenceTrainer.CheckpointFolderName)), killed);
        Assert.Equal(FirstCheckpoint * UpdatesPerIteration, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length - 1); // ten iterations' rows, no checkpoint
        var (code, text) = CliRunner.Run(["align", "-o", run, .. Options]);
        Assert.True(code == ExitCodes.Success, text);
        Assert.Contains("stopped before its first checkpoint: starting afresh", Regex.Replace(text, @"\s+", " "));
        AssertSameAsUninterrupted(run);
    }

    [Fact]
    public void Killed_between_the_renames_of_a_checkpoint_swap_the_run_resumes_from_the_newer_checkpoint()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");

        // The first swap is the second checkpoint (the final one, iteration 12; the first checkpoint replaced none): the
        // iteration-10 checkpoint is retired, the new one staged.
        var killed = KillAt("between-swap-renames", run);

        Assert.False(Directory.Exists(Path.Combine(run, PreferenceTrainer.CheckpointFolderName)), killed);
        Assert.Single(Directory.GetDirectories(run, ".checkpoint.old-*"));
        Assert.Single(Directory.GetDirectories(run, ".checkpoint.tmp-*"));
        Resume(run);
        Assert.Equal(Budget, Counters(run).Samples); // the staged iteration-12 checkpoint, not the retired one
        Assert.Empty(Directory.GetDirectories(run, ".checkpoint.*"));
        AssertSameAsUninterrupted(run);
    }

    [Fact]
    public void Killed_after_a_metrics_line_past_a_checkpoint_the_run_resumes_without_duplicate_rows()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        const int lines = FirstCheckpoint * UpdatesPerIteration + 1; // the 11th iteration's first update, after the checkpoint at iteration 10

        var killed = KillAt($"after-metrics-line:{lines}", run);

        Assert.Equal(lines, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length - 1);
        Assert.Equal(lines, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.Equal(FirstCheckpoint, Counters(run).Samples);
        Resume(run);
        AssertSameAsUninterrupted(run);
    }

    [Fact]
    public void Sigterm_during_a_step_stops_with_a_checkpoint_and_the_resumed_run_ends_as_if_never_stopped()
    {
        Assert.True(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals: this test runs on Linux and macOS.");
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        var metrics = Path.Combine(run, "metrics.csv");
        using var child = new CliChildProcess(["align", "-o", run, .. Options]);
        var started = Stopwatch.StartNew();
        // Signalled in the middle of iteration 4 or so: the stop rolls that iteration back and writes a checkpoint.
        while (!child.HasExited && CountLines(metrics) < 4 * UpdatesPerIteration + 2 && started.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(50);
        Assert.True(!child.HasExited, "the run ended before the signal:\n" + child.Output);

        var clock = Stopwatch.StartNew();
        child.Signal("TERM");
        var code = child.WaitForExit(TimeSpan.FromSeconds(60));
        output.WriteLine($"SIGTERM to exit: {clock.Elapsed.TotalSeconds:F2} s");

        Assert.True(code == ExitCodes.Cancelled, $"exit code {code}:\n{child.Output}");
        Assert.Contains("Stopped.", child.Output);
        Assert.InRange(Counters(run).Samples, 1, Budget - 1);
        Resume(run);
        AssertSameAsUninterrupted(run);
    }

    [Theory]
    [InlineData(TrainingCheckpoint.AdapterFile)]
    [InlineData(TrainingCheckpoint.TensorFile)]
    public void A_flipped_bit_in_a_checkpoint_file_is_refused_naming_the_file_and_nothing_changes(string file)
    {
        using var folder = new TemporaryFolder();
        var run = CopyOfUninterrupted(folder);
        var path = Path.Combine(run, PreferenceTrainer.CheckpointFolderName, file);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var before = Snapshot(run);

        var (code, text) = CliRunner.Run("align", "--resume", run, "--budget", "14");

        Assert.NotEqual(ExitCodes.Success, code);
        text = Regex.Replace(text, @"\s+", " ");
        Assert.Contains($"'{path}' is not the file the checkpoint wrote (its sha256 differs", text);
        Assert.Equal(before, Snapshot(run));
    }

    [Fact]
    public void A_negative_counter_in_state_json_is_refused_naming_the_file_and_the_counter_and_nothing_changes()
    {
        using var folder = new TemporaryFolder();
        var run = CopyOfUninterrupted(folder);
        var manifestPath = Path.Combine(run, PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.CountersFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["Samples"] = -100;
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var before = Snapshot(run);

        var (code, text) = CliRunner.Run("align", "--resume", run, "--budget", "14");

        Assert.NotEqual(ExitCodes.Success, code);
        text = Regex.Replace(text, @"\s+", " ");
        Assert.Contains($"'{manifestPath}' has Samples = -100; a counter cannot be negative", text);
        Assert.Equal(before, Snapshot(run));
    }

    /// <summary>Runs the CLI as a child process that kills itself at <paramref name="point"/>; returns its output.</summary>
    private string KillAt(string point, string run)
    {
        var clock = Stopwatch.StartNew();
        using var child = new CliChildProcess(new Dictionary<string, string> { [CrashVariable] = point }, ["align", "-o", run, .. Options]);
        var code = child.WaitForExit(TimeSpan.FromSeconds(120));
        output.WriteLine($"{point}: killed after {clock.Elapsed.TotalSeconds:F1} s (the uninterrupted run took {reference.Elapsed.TotalSeconds:F1} s in-process)");
        Assert.True(code == 128 + 9 || !OperatingSystem.IsLinux(), $"exit code {code}, not SIGKILL's:\n{child.Output}");
        Assert.Contains($"{CrashVariable}: killing the process at {point.Split(':')[0]}", child.Output);
        Assert.False(File.Exists(Path.Combine(run, "lora.safetensors")), "the killed run got to its end");
        return child.Output;
    }

    private static void Resume(string run)
    {
        var (code, text) = CliRunner.Run("align", "--resume", run, "--threads", "1");
        Assert.True(code == ExitCodes.Success, text);
    }

    private static TrainerCounters Counters(string run)
    {
        var path = Path.Combine(run, PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.CountersFile);
        return System.Text.Json.JsonSerializer.Deserialize<TrainerCounters>(File.ReadAllText(path))!;
    }

    /// <summary>The same adapter bytes, and metrics files with the same rows, each once and whole (the wall clock aside).</summary>
    private void AssertSameAsUninterrupted(string run)
    {
        var expected = File.ReadAllBytes(Path.Combine(reference.Folder, "lora.safetensors"));
        var actual = File.ReadAllBytes(Path.Combine(run, "lora.safetensors"));
        Assert.True(expected.AsSpan().SequenceEqual(actual), "lora.safetensors differs from the uninterrupted run's");
        var adapter = Path.Combine(PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.AdapterFile);
        Assert.True(File.ReadAllBytes(Path.Combine(reference.Folder, adapter)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(run, adapter))),
            "the checkpoint's adapter differs from the uninterrupted run's");

        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        var time = Array.IndexOf(csv[0].Split(','), "wall_seconds");
        string[] WithoutTime(string[] lines) => lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != time))).ToArray();
        Assert.Equal(WithoutTime(File.ReadAllLines(Path.Combine(reference.Folder, "metrics.csv"))), WithoutTime(csv));
        Assert.Equal(Budget * UpdatesPerIteration, csv.Length - 1);
        static string[] Json(string folder) => File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Select(line =>
        {
            var row = JsonNode.Parse(line)!.AsObject(); // every line parses
            row.Remove("wall_seconds");
            return row.ToJsonString();
        }).ToArray();
        var json = Json(run);
        Assert.Equal(Json(reference.Folder), json);
        Assert.Equal(Enumerable.Range(0, Budget * UpdatesPerIteration).Select(i => i.ToString(CultureInfo.InvariantCulture)),
            json.Select(row => JsonNode.Parse(row)!["update"]!.ToJsonString())); // no update twice, none missing
    }

    private string CopyOfUninterrupted(TemporaryFolder folder)
    {
        var run = folder.Combine("run");
        foreach (var file in Directory.EnumerateFiles(reference.Folder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(run, Path.GetRelativePath(reference.Folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return run;
    }

    /// <summary>Every file of the run folder with its bytes, as text for a readable comparison.</summary>
    private static List<string> Snapshot(string run) => Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        .Select(f => $"{Path.GetRelativePath(run, f)} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}")
        .ToList();

    private static int CountLines(string path)
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
