using Spectre.Console;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Labeling;

namespace TailorPO.Samples.Tests;

/// <summary>
/// <c>tailorpo label</c>: the CLI finds a build of the labelling app (it does not reference it), starts it with the
/// arguments that follow and returns its exit code; without a build it says how to make one.
/// </summary>
public sealed class LabelCommandTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The app's build beside this test's: tests/TailorPO.Samples.Tests/bin/... -> samples/TailorPO.Labeling/bin/...</summary>
    private static string BuiltApp => Path.Combine(AppContext.BaseDirectory.Replace(Path.Combine("tests", "TailorPO.Samples.Tests"),
        Path.Combine("samples", "TailorPO.Labeling"), StringComparison.Ordinal), LabelingAppLocation.AssemblyFileName);

    [Fact]
    public async Task The_alias_forwards_help_to_the_app_and_returns_its_exit_code()
    {
        Assert.True(File.Exists(BuiltApp), $"The labelling app is not built at {BuiltApp} (the test project builds it through a build-only reference).");
        var location = LabelingAppLocation.Find(BuiltApp, AppContext.BaseDirectory);
        var (output, error) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await LabelingAppProcess.RunAsync(location, ["--help"], output, error, default));
        Assert.Contains("serve    --model --prompts", output.ToString());
        Assert.Contains("export   --data --out", output.ToString());

        // An option the app does not take: the app's own message and exit code come back unchanged.
        (output, error) = (new StringWriter(), new StringWriter());
        Assert.Equal(2, await LabelingAppProcess.RunAsync(location, ["export", "--bogus", "1"], output, error, default));
        Assert.Contains("'export' takes no option '--bogus'", error.ToString());
    }

    [Fact]
    public async Task The_cli_hands_everything_after_label_to_the_app_unparsed()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(writer) });
        var previous = Environment.GetEnvironmentVariable(LabelingAppLocation.EnvironmentVariable);
        Environment.SetEnvironmentVariable(LabelingAppLocation.EnvironmentVariable, Path.GetDirectoryName(BuiltApp));
        try
        {
            // --help and -h belong to the app here, not to the CLI's parser.
            Assert.Equal(0, await CliApplication.RunAsync(["label", "-h"], console));
        }
        finally
        {
            Environment.SetEnvironmentVariable(LabelingAppLocation.EnvironmentVariable, previous);
        }
        Assert.Contains("winrate  --labels --out", writer.ToString());
    }

    [Fact]
    public void The_app_is_found_in_the_repository_build_then_as_a_project_and_otherwise_the_error_says_how_to_build_it()
    {
        var cli = _folder.Combine("repo", "samples", "TailorPO.Samples", "bin", "Release", "net10.0");
        var built = _folder.Combine("repo", "samples", "TailorPO.Labeling", "bin", "Release", "net10.0", LabelingAppLocation.AssemblyFileName);
        var project = _folder.Combine("repo", "samples", "TailorPO.Labeling", LabelingAppLocation.ProjectFileName);
        Directory.CreateDirectory(cli);
        Directory.CreateDirectory(Path.GetDirectoryName(built)!);
        File.WriteAllText(built, "");
        File.WriteAllText(project, "");

        Assert.Equal([built], LabelingAppLocation.Find(null, cli).Arguments);
        File.Delete(built);
        Assert.Equal(["run", "--project", project, "-c", "Release", "--"], LabelingAppLocation.Find(null, cli).Arguments);
        File.Delete(project);
        var ex = Assert.Throws<BadInputException>(() => LabelingAppLocation.Find(null, cli));
        Assert.Contains("The labelling app was not found", ex.Message);
        Assert.Contains(built, ex.Message);
        Assert.Contains("dotnet build samples/TailorPO.Labeling -c Release", ex.Message);
        Assert.Contains(LabelingAppLocation.EnvironmentVariable, ex.Message);

        // Published together: the app beside the CLI wins.
        var beside = Path.Combine(cli, LabelingAppLocation.AssemblyFileName);
        File.WriteAllText(beside, "");
        Assert.Equal([beside], LabelingAppLocation.Find(null, cli).Arguments);

        var missing = _folder.Combine("nowhere");
        ex = Assert.Throws<BadInputException>(() => LabelingAppLocation.Find(missing, cli));
        Assert.Contains($"{LabelingAppLocation.EnvironmentVariable} is '{missing}'", ex.Message);
    }
}
