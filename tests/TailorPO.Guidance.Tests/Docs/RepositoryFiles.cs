namespace TailorPO.Guidance.Tests.Docs;

/// <summary>Reads files of the repository the tests run from (the docs they keep in sync with the code).</summary>
internal static class RepositoryFiles
{
    /// <summary>The repository root: the first folder above the test assembly holding PreferenceOptimization.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The text of a repository file with '\n' line endings.</summary>
    public static string ReadText(params string[] parts) =>
        File.ReadAllText(Path.Combine([Root, .. parts])).ReplaceLineEndings("\n");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PreferenceOptimization.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("Run the tests from inside the repository: PreferenceOptimization.sln was not found above the test assembly.");
    }
}
