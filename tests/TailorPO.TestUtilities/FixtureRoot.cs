namespace TailorPO.TestUtilities;

/// <summary>
/// Locates the golden fixtures. The environment variable <c>TAILORPO_FIXTURES</c> wins;
/// otherwise the repository's own <c>tests/fixtures</c> folder is used, found by walking up
/// from the test assembly's folder, so a fresh clone is self-contained.
/// </summary>
public static class FixtureRoot
{
    /// <summary>The environment variable that overrides the fixture folder.</summary>
    public const string EnvironmentVariable = "TAILORPO_FIXTURES";

    private static readonly Lazy<string> Resolved = new(Resolve);

    /// <summary>The absolute path of the fixture root folder.</summary>
    public static string Path => Resolved.Value;

    /// <summary>A path inside the fixture root, e.g. <c>Combine("ddim", "cases.safetensors")</c>.</summary>
    public static string Combine(params string[] parts) =>
        System.IO.Path.Combine([Path, .. parts]);

    private static string Resolve()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            var full = System.IO.Path.GetFullPath(fromEnvironment);
            if (!Directory.Exists(full))
                throw new DirectoryNotFoundException($"{EnvironmentVariable} points at '{full}', which does not exist.");
            return full;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "fixtures");
            if (File.Exists(System.IO.Path.Combine(candidate, "README.md")))
                return candidate;
        }

        throw new DirectoryNotFoundException(
            $"No fixture folder found: set {EnvironmentVariable} or run the tests from inside the repository (tests/fixtures).");
    }
}
