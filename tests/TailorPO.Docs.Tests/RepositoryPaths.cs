namespace TailorPO.Docs.Tests;

/// <summary>Paths inside the repository this test assembly was built from.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The folder that holds <c>PreferenceOptimization.sln</c>.</summary>
    public static string Root => RootPath.Value;

    /// <summary>The user docs folder, <c>docs/</c>.</summary>
    public static string Docs => Path.Combine(Root, "docs");

    /// <summary>The solution file.</summary>
    public static string Solution => Path.Combine(Root, "PreferenceOptimization.sln");

    /// <summary>The samples' embedded tiny model: a complete diffusers folder (pixel space, no VAE) that loads in a second.</summary>
    public static string EmbeddedModel => Path.Combine(Root, "samples", "TailorPO.Shapes", "EmbeddedModel");

    /// <summary>
    /// The configuration this assembly was built in (its output folder is <c>bin/&lt;Configuration&gt;/&lt;tfm&gt;/</c>),
    /// which is also the configuration of the src projects it references.
    /// </summary>
    public static string BuildConfiguration =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name
        ?? throw new InvalidOperationException($"Cannot read the build configuration from '{AppContext.BaseDirectory}'.");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PreferenceOptimization.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("Run the tests from inside the repository: PreferenceOptimization.sln was not found above the test assembly.");
    }
}
