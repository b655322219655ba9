using System.Globalization;
using System.Security;

namespace TailorPO.Docs.Tests;

/// <summary>
/// Packs the src packages once into a local feed (a version no earlier run used, so the NuGet cache cannot serve a
/// stale copy), writes every docs app as a fresh console project that references what getting-started's install
/// section adds, and builds them all in one <c>dotnet build</c>, as a user following the docs would.
/// Disposing deletes the workspace and the packed version's copies in the global packages folder.
/// </summary>
public sealed class DocAppsWorkspace : IDisposable
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(6);

    private readonly Lazy<ChildProcessResult> _pack;
    private readonly Lazy<ChildProcessResult> _build;

    /// <summary>Creates the workspace; packing and building happen on first use.</summary>
    public DocAppsWorkspace()
    {
        Root = Path.Combine(Path.GetTempPath(), "tailorpo-docs-" + Guid.NewGuid().ToString("N"));
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        PackageVersion = string.Create(CultureInfo.InvariantCulture, $"0.0.0-docs.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}");
        Blocks = DocBlock.ReadAll(RepositoryPaths.Docs);
        Apps = DocApp.FromBlocks(Blocks);
        Packages = InstallSteps.GettingStarted(Blocks);
        _pack = new Lazy<ChildProcessResult>(PackSources);
        _build = new Lazy<ChildProcessResult>(WriteAndBuildApps);
    }

    /// <summary>The temporary folder holding the feed, the apps and their runs.</summary>
    public string Root { get; }

    /// <summary>The local feed the packages are packed into.</summary>
    public string Feed { get; }

    /// <summary>The version the packages are packed with.</summary>
    public string PackageVersion { get; }

    /// <summary>Every fenced block of docs/*.md.</summary>
    public IReadOnlyList<DocBlock> Blocks { get; }

    /// <summary>The complete programs of the docs.</summary>
    public IReadOnlyList<DocApp> Apps { get; }

    /// <summary>The packages getting-started tells the reader to add.</summary>
    public IReadOnlyList<PackageStep> Packages { get; }

    /// <summary>The <c>dotnet pack</c> of the src projects (run once).</summary>
    public ChildProcessResult Pack => _pack.Value;

    /// <summary>The one <c>dotnet build</c> of every app (run once, after <see cref="Pack"/>).</summary>
    public ChildProcessResult Build => _build.Value;

    /// <summary>The folder of an app's project.</summary>
    public string AppFolder(string app) => Path.Combine(Root, "apps", app);

    /// <summary>The built assembly of an app.</summary>
    public string AppAssembly(string app) => Path.Combine(AppFolder(app), "bin", "Debug", "net10.0", app + ".dll");

    /// <summary>Runs a built app in a fresh working folder (returned) with the docs' argument convention.</summary>
    public (ChildProcessResult Result, string WorkingFolder) Run(string app, TimeSpan timeout, params string[] arguments)
    {
        var working = Path.Combine(Root, "runs", app);
        Directory.CreateDirectory(working);
        return (ChildProcess.Dotnet(working, timeout, [AppAssembly(app), .. arguments]), working);
    }

    private ChildProcessResult PackSources() =>
        // --no-build: the src projects are already built in this configuration (this assembly references them).
        ChildProcess.Dotnet(RepositoryPaths.Root, PackTimeout, "pack", RepositoryPaths.Solution, "-c", RepositoryPaths.BuildConfiguration,
            "--no-build", "-o", Feed, $"-p:Version={PackageVersion}");

    private ChildProcessResult WriteAndBuildApps()
    {
        if (Pack.ExitCode != 0) return new ChildProcessResult(Pack.ExitCode, "dotnet pack failed; nothing was built.", TimeSpan.Zero);

        // The feed is added next to the machine's own sources, as getting-started's "dotnet nuget add source" does.
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="tailorpo-local" value="{SecurityElement.Escape(Feed)}" />
              </packageSources>
            </configuration>
            """);
        // A fresh app has no Directory.Build.* above it; these empty ones stop MSBuild from finding any the machine has.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");

        var references = string.Join("\n", Packages.Select(p =>
            $"""    <PackageReference Include="{p.Id}" Version="{(p.Id.StartsWith("TailorPO.", StringComparison.Ordinal) ? PackageVersion : p.Version ?? "*")}" />"""));
        var solution = new List<string> { "<Solution>" };
        foreach (var app in Apps)
        {
            var folder = AppFolder(app.Name);
            Directory.CreateDirectory(folder);
            // What `dotnet new console` writes, plus the references of getting-started's install section.
            File.WriteAllText(Path.Combine(folder, app.Name + ".csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                {references}
                  </ItemGroup>
                </Project>
                """);
            foreach (var (file, source) in app.Files)
                File.WriteAllText(Path.Combine(folder, file), source);
            solution.Add($"""  <Project Path="apps/{app.Name}/{app.Name}.csproj" />""");
        }
        solution.Add("</Solution>");
        File.WriteAllLines(Path.Combine(Root, "apps.slnx"), solution);
        return ChildProcess.Dotnet(Root, BuildTimeout, "build", "apps.slnx", "-nodeReuse:false", "-p:UseSharedCompilation=false");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        }
        catch (IOException) { }
        // The restore extracted this run's packages into the global packages folder; they are of no use to anyone else.
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Packages.Select(p => p.Id).Where(id => id.StartsWith("TailorPO.", StringComparison.Ordinal))
                     .Concat(["TailorPO.Core", "TailorPO.Diffusion", "TailorPO.Rewards", "TailorPO.RewardModels", "TailorPO.Guidance", "TailorPO.Training"]).Distinct())
        {
            var copy = Path.Combine(globalPackages, id.ToLowerInvariant(), PackageVersion);
            try
            {
                if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
            }
            catch (IOException) { }
        }
    }
}
