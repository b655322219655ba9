using TailorPO.Training;
using TailorPO.Training.Checkpoints;
using Xunit.Abstractions;

namespace TailorPO.Docs.Tests;

/// <summary>
/// Every C# block of docs/*.md is a file of a complete console app or a marked excerpt (docs/README.md), and every
/// app builds from the locally packed packages with getting-started's install steps and runs on the embedded tiny model.
/// </summary>
public sealed class DocumentedProgramsTests(DocAppsWorkspace workspace, ITestOutputHelper output) : IClassFixture<DocAppsWorkspace>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The arguments every docs app is run with: the docs' programs read a diffusers folder from the first argument
    /// (the embedded tiny model stands in for SD v1.5 here) and the trainer host its run folder, steps (at least
    /// T_finetune = 5) and budget next.
    /// </summary>
    private static string[] Arguments => [RepositoryPaths.EmbeddedModel, "run", "5", "2"];

    /// <summary>What an app leaves in its working folder, as the page that shows it says.</summary>
    private static readonly Dictionary<string, string[]> ExpectedFiles = new(StringComparer.Ordinal)
    {
        ["getting-started"] = [Path.Combine("out", "image-000.png"), Path.Combine("out", "image-001.png"), "my-lora.safetensors"],
        ["custom-step"] = ["tailorpo-lora.safetensors"],
        ["trainer-host"] = [Path.Combine("run", PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.AdapterFile), Path.Combine("run", "metrics.csv")],
        ["custom-method"] = [Path.Combine("run", PreferenceTrainer.CheckpointFolderName, TrainingCheckpoint.AdapterFile)],
    };

    /// <summary>The names of the docs' apps, for the theory below.</summary>
    public static TheoryData<string> AppNames()
    {
        var data = new TheoryData<string>();
        foreach (var app in DocApp.FromBlocks(DocBlock.ReadAll(RepositoryPaths.Docs))) data.Add(app.Name);
        return data;
    }

    [Fact]
    public void Every_csharp_block_is_a_file_of_a_program_or_a_marked_excerpt()
    {
        var untagged = workspace.Blocks.Where(b => b.IsCSharp && !b.IsExcerpt && b.AppFile is null).ToList();
        Assert.True(untagged.Count == 0,
            "These C# blocks start with neither '// file: APP/FILE.cs' nor '// excerpt' (docs/README.md):\n" + string.Join("\n", untagged));
        Assert.Contains(workspace.Blocks, b => b.IsCSharp && b.IsExcerpt);
    }

    [Fact]
    public void The_getting_started_program_and_the_pages_that_promise_a_runnable_program_have_one()
    {
        var apps = workspace.Apps.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var app in ExpectedFiles.Keys) Assert.Contains(app, apps);
        Assert.All(workspace.Apps, app => Assert.Single(app.Files.Keys, f => f == "Program.cs"));
    }

    [Fact]
    public void Getting_started_installs_every_package_with_a_version_except_this_repositorys_own()
    {
        Assert.Contains(workspace.Packages, p => p.Id == "TailorPO.Diffusion");
        var unpinned = workspace.Packages.Where(p => p.Version is null && !p.Id.StartsWith("TailorPO.", StringComparison.Ordinal)).ToList();
        Assert.True(unpinned.Count == 0, "Pin these with --version so the page installs what it was tested with: " + string.Join(", ", unpinned));
    }

    [Theory]
    [MemberData(nameof(AppNames))]
    public void The_documented_program_builds_from_the_local_pack_and_runs(string appName)
    {
        Assert.True(workspace.Pack.ExitCode == 0, $"dotnet pack failed:\n{workspace.Pack.Tail()}");
        Assert.True(workspace.Build.ExitCode == 0, $"Building the docs' programs failed ({string.Join(", ", workspace.Apps)}):\n{Errors(workspace.Build)}");

        var (run, folder) = workspace.Run(appName, RunTimeout, Arguments);
        output.WriteLine($"pack {workspace.Pack.Elapsed.TotalSeconds:F0} s, build of all apps {workspace.Build.Elapsed.TotalSeconds:F0} s, " +
            $"{appName} ran {run.Elapsed.TotalSeconds:F1} s:\n{run.Tail(20)}");

        var blocks = string.Join(", ", workspace.Apps.Single(a => a.Name == appName).Blocks);
        Assert.True(run.ExitCode == 0, $"The program of {blocks} exited with {run.ExitCode} after {run.Elapsed.TotalSeconds:F1} s:\n{run.Tail()}");
        foreach (var file in ExpectedFiles.GetValueOrDefault(appName, []))
            Assert.True(File.Exists(Path.Combine(folder, file)), $"The program of {blocks} did not write {file}. Its output:\n{run.Tail()}");
    }

    private static string Errors(ChildProcessResult build)
    {
        var errors = build.Output.Split('\n').Where(l => l.Contains(" error ", StringComparison.Ordinal)).Distinct().ToList();
        return errors.Count > 0 ? string.Join("\n", errors.Take(40)) : build.Tail();
    }
}
