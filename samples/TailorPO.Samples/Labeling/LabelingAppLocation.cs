using TailorPO.Samples.Cli;

namespace TailorPO.Samples.Labeling;

/// <summary>
/// Where the labelling app (samples/TailorPO.Labeling) is and how to start it. The CLI does not reference the app (it is
/// an ASP.NET Core program of its own), so <c>tailorpo label</c> finds a build of it and starts it as a child process:
/// <list type="number">
/// <item>the <see cref="EnvironmentVariable"/> <c>TAILORPO_LABELING_APP</c>: the app's <c>TailorPO.Labeling.dll</c>, the folder
/// holding it, or its project file (started with <c>dotnet run --project</c>);</item>
/// <item><c>TailorPO.Labeling.dll</c> next to the CLI (both published into one folder);</item>
/// <item>the repository's build of the app with the CLI's configuration and framework
/// (<c>samples/TailorPO.Labeling/bin/&lt;configuration&gt;/&lt;framework&gt;/</c>);</item>
/// <item>the repository's project, started with <c>dotnet run --project samples/TailorPO.Labeling -c Release --</c>.</item>
/// </list>
/// </summary>
/// <param name="FileName">The program to start (<c>dotnet</c>).</param>
/// <param name="Arguments">The arguments before the forwarded ones (the app's dll, or <c>run --project ... --</c>).</param>
/// <param name="Description">Where the app was found, for messages.</param>
public sealed record LabelingAppLocation(string FileName, IReadOnlyList<string> Arguments, string Description)
{
    /// <summary>The environment variable naming the app's dll, its folder or its project file.</summary>
    public const string EnvironmentVariable = "TAILORPO_LABELING_APP";

    /// <summary>The app's assembly file name.</summary>
    public const string AssemblyFileName = "TailorPO.Labeling.dll";

    /// <summary>The app's project file name.</summary>
    public const string ProjectFileName = "TailorPO.Labeling.csproj";

    /// <summary>Finds the app the way this process would (its environment variable, its own folder).</summary>
    /// <exception cref="BadInputException">The app is nowhere; the message lists where it looked and how to build it.</exception>
    public static LabelingAppLocation Find() => Find(Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory);

    /// <summary>Finds the app from an explicit setting and CLI folder (see the type's remarks for the order).</summary>
    /// <param name="setting">The <see cref="EnvironmentVariable"/>'s value, or null.</param>
    /// <param name="cliFolder">The folder the CLI runs from.</param>
    /// <exception cref="BadInputException">The app is nowhere; the message lists where it looked and how to build it.</exception>
    public static LabelingAppLocation Find(string? setting, string cliFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cliFolder);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        if (!string.IsNullOrWhiteSpace(setting))
        {
            var full = Path.GetFullPath(setting);
            if (full.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) && File.Exists(full)) return Run(dotnet, full);
            var dll = Directory.Exists(full) ? Path.Combine(full, AssemblyFileName) : full;
            if (File.Exists(dll)) return new LabelingAppLocation(dotnet, [dll], dll);
            throw new BadInputException($"{EnvironmentVariable} is '{setting}', but neither {AssemblyFileName} nor {ProjectFileName} is there. " +
                $"Point it at the built app (dotnet build samples/TailorPO.Labeling -c Release puts it in samples/TailorPO.Labeling/bin/Release/net10.0/), or unset it.");
        }
        var looked = new List<string>();
        var beside = Path.Combine(cliFolder, AssemblyFileName);
        looked.Add(beside);
        if (File.Exists(beside)) return new LabelingAppLocation(dotnet, [beside], beside);

        // In the repository the CLI runs from samples/TailorPO.Samples/bin/<configuration>/<framework>/.
        var cli = Path.Combine("samples", "TailorPO.Samples") + Path.DirectorySeparatorChar;
        var app = Path.Combine("samples", "TailorPO.Labeling") + Path.DirectorySeparatorChar;
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(cliFolder)) + Path.DirectorySeparatorChar;
        var at = folder.LastIndexOf(cli, StringComparison.Ordinal);
        if (at >= 0)
        {
            var built = Path.Combine(string.Concat(folder.AsSpan(0, at), app, folder.AsSpan(at + cli.Length)), AssemblyFileName);
            looked.Add(built);
            if (File.Exists(built)) return new LabelingAppLocation(dotnet, [built], built);
            var project = Path.Combine(folder[..at], "samples", "TailorPO.Labeling", ProjectFileName);
            looked.Add(project);
            if (File.Exists(project)) return Run(dotnet, project);
        }
        throw new BadInputException($"The labelling app was not found (looked for {string.Join(", ", looked)}). Build it with " +
            $"`dotnet build samples/TailorPO.Labeling -c Release` from the repository, publish it next to the CLI, or set {EnvironmentVariable} " +
            $"to its {AssemblyFileName} (or its folder, or its {ProjectFileName}).");
    }

    private static LabelingAppLocation Run(string dotnet, string project) =>
        new(dotnet, ["run", "--project", project, "-c", "Release", "--"], $"dotnet run --project {project}");
}
