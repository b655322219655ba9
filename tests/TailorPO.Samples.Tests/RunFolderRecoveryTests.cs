using System.Text.RegularExpressions;
using TailorPO.Samples.Alignment;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Commands;
using TailorPO.Training.Metrics;

namespace TailorPO.Samples.Tests;

/// <summary>
/// A run killed before its first checkpoint leaves options.json and partial metrics but no checkpoint/: --resume says
/// exactly how to start it afresh, and that command (align -o on the same folder) does so, saying it, with none of the
/// killed run's rows left in the metrics.
/// </summary>
public sealed class RunFolderRecoveryTests
{
    [Fact]
    public void A_run_killed_before_its_first_checkpoint_is_started_afresh_as_the_resume_message_says()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        Directory.CreateDirectory(run);
        new AlignSettings { Budget = 2, Steps = 5, TrainedSteps = 5, EvaluationSeeds = 2, Threads = 1, GradeCaptions = 2, GradeSeeds = 2 }.ToPlan().Save(run);
        File.WriteAllText(Path.Combine(run, "metrics.csv"), string.Join(',', CsvMetricsSink.Columns) + "\ntailorpo,0,0,0,0.69,0.5,1,2,1,0,0,0,0.1,0,2,10,0.");
        File.WriteAllText(Path.Combine(run, "metrics.jsonl"), "{\"method\":\"tailorpo\",\"iteration\":0,\"up");

        var (code, output) = CliRunner.Run("align", "--resume", run);
        output = Regex.Replace(output, @"[ ]*\r?\n[ ]*", " ").Trim(); // the console wraps the long message at word boundaries

        Assert.True(code == ExitCodes.BadInput, output);
        Assert.Contains($"--resume '{run}' has no checkpoint/ to resume from: its run stopped before its first checkpoint", output);
        const string marker = "Start it afresh in the same folder with its options: ";
        var command = output[(output.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..];
        Assert.StartsWith($"tailorpo align -o {run} --method tailorpo --reward preference --budget 2 --seed 0", command);

        (code, output) = CliRunner.Run(command.Split(' ')[1..]);

        Assert.True(code == ExitCodes.Success, output);
        Assert.Contains("holds a run that stopped before its first checkpoint: starting afresh in it", output);
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(string.Join(',', CsvMetricsSink.Columns), csv[0]);
        Assert.Equal(5, csv.Length - 1); // this run's five trained steps, none of the killed run's
        Assert.Equal(5, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint", "state.json")));
    }

    [Fact]
    public void A_run_folder_with_a_checkpoint_is_still_refused_for_a_new_run()
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        Directory.CreateDirectory(Path.Combine(run, "other"));
        var (code, output) = CliRunner.Run("align", "-o", run, "--budget", "2");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("already holds a run", output);
        Assert.False(AlignmentRun.StoppedBeforeFirstCheckpoint(run)); // no options.json: not a run of align's
    }
}

/// <summary>A run folder's options.json is checked on --resume, and a bad field is blamed on the file, not on a flag.</summary>
public sealed class ResumedOptionsTests
{
    [Theory]
    [InlineData("Method", "banana", "has Method 'banana'; it must be one of")]
    [InlineData("Reward", "loudness", "has Reward 'loudness'; it must be one of")]
    public void A_bad_field_of_options_json_names_the_file_and_the_field(string field, string value, string message)
    {
        using var folder = new TemporaryFolder();
        var run = folder.Combine("run");
        Directory.CreateDirectory(run);
        new AlignSettings().ToPlan().Save(run);
        var path = Path.Combine(run, AlignmentPlan.FileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        json[field] = value;
        File.WriteAllText(path, json.ToJsonString());

        var (code, output) = CliRunner.Run("align", "--resume", run);

        Assert.Equal(ExitCodes.BadInput, code);
        output = Regex.Replace(output, @"\s+", " ");
        Assert.Contains($"'{path}' {message}", output);
        Assert.DoesNotContain($"--{field.ToLowerInvariant()} must be", output);
    }
}

/// <summary>An empty prompts file is a usage error (exit code 2) that names the file, before any work.</summary>
public sealed class EmptyPromptFileTests
{
    [Theory]
    [InlineData("align")]
    [InlineData("generate")]
    public void An_empty_prompts_file_is_named_and_reported_as_bad_input(string command)
    {
        using var folder = new TemporaryFolder();
        var prompts = folder.Combine("prompts.txt");
        File.WriteAllText(prompts, "# only a comment\n\n");

        var (code, output) = CliRunner.Run(command, "--prompts", prompts, "-o", folder.Combine(command == "align" ? "run" : "grid.png"));

        Assert.True(code == ExitCodes.BadInput, output);
        output = Regex.Replace(output, @"\s+", " ");
        Assert.Contains($"--prompts: The prompt file '{prompts}' holds no prompt", output);
    }
}
