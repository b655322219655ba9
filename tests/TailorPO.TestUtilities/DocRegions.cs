namespace TailorPO.TestUtilities;

/// <summary>
/// Keeps docs in sync with compiled examples: reads repository files and the regions of a source file between
/// <c>// docs:begin NAME</c> and <c>// docs:end NAME</c>, which a doc must quote verbatim.
/// </summary>
public static class DocRegions
{
    /// <summary>The text of a repository file (found above the test assembly) with '\n' line endings.</summary>
    public static string ReadRepositoryText(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PreferenceOptimization.sln")))
                return File.ReadAllText(Path.Combine([dir.FullName, .. parts])).ReplaceLineEndings("\n");
        throw new DirectoryNotFoundException("Run the tests from inside the repository: PreferenceOptimization.sln was not found above the test assembly.");
    }

    /// <summary>The lines between the region's markers, with their common indentation removed ("" when absent).</summary>
    public static string Region(string source, string name)
    {
        var lines = source.Split('\n');
        var begin = Array.FindIndex(lines, l => l.Trim() == $"// docs:begin {name}");
        var end = Array.FindIndex(lines, l => l.Trim() == $"// docs:end {name}");
        if (begin < 0 || end <= begin) return "";
        var body = lines[(begin + 1)..end];
        var indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }
}
