using System.Text.RegularExpressions;

namespace TailorPO.Docs.Tests;

/// <summary>A package a docs page tells the reader to add, with the version it names (null: the feed's latest).</summary>
/// <param name="Id">The package id.</param>
/// <param name="Version">The version after <c>--version</c>, or null.</param>
public sealed record PackageStep(string Id, string? Version);

/// <summary>Reads the install commands of docs/getting-started.md's "1. Install" section.</summary>
public static partial class InstallSteps
{
    /// <summary>Every <c>dotnet add package</c> of the first bash block of getting-started.md, in order.</summary>
    public static IReadOnlyList<PackageStep> GettingStarted(IEnumerable<DocBlock> blocks)
    {
        var install = blocks.FirstOrDefault(b => b.Page == "getting-started.md" && b.Language == "bash" && b.Text.Contains("dotnet add package", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("docs/getting-started.md has no bash block with 'dotnet add package' lines.");
        return install.Text.Split('\n')
            .Select(l => AddPackage().Match(l))
            .Where(m => m.Success)
            .Select(m => new PackageStep(m.Groups["id"].Value, m.Groups["version"].Success ? m.Groups["version"].Value : null))
            .ToList();
    }

    [GeneratedRegex(@"^\s*dotnet add package\s+(?<id>[A-Za-z0-9_.-]+)(\s+--version\s+(?<version>\S+))?")]
    private static partial Regex AddPackage();
}
