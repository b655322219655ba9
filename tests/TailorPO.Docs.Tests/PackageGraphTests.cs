using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace TailorPO.Docs.Tests;

/// <summary>The package graph docs/concepts.md draws is the one the src/*.csproj files declare.</summary>
public sealed partial class PackageGraphTests
{
    [Fact]
    public void The_reference_table_of_concepts_lists_exactly_the_project_references_of_every_package()
    {
        var documented = DocumentedReferences();
        var declared = DeclaredReferences();

        Assert.Equal(declared.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach (var (package, references) in declared)
            Assert.True(references.SetEquals(documented[package]),
                $"{package}: the .csproj references [{string.Join(", ", references.Order(StringComparer.Ordinal))}], docs/concepts.md says " +
                $"[{string.Join(", ", documented[package].Order(StringComparer.Ordinal))}].");
    }

    [Fact]
    public void The_model_free_rewards_reach_neither_the_diffusion_package_nor_SkiaSharp()
    {
        var declared = DeclaredReferences();
        var reached = Closure("TailorPO.Rewards", declared);

        Assert.DoesNotContain("TailorPO.Diffusion", reached);
        Assert.DoesNotContain(reached, p => PackageReferences(p).Any(r => r.StartsWith("SkiaSharp", StringComparison.Ordinal)));
        Assert.Contains("TailorPO.Diffusion", Closure("TailorPO.RewardModels", declared));
    }

    private static Dictionary<string, HashSet<string>> DeclaredReferences() =>
        Directory.GetDirectories(Path.Combine(RepositoryPaths.Root, "src"))
            .Select(dir => Path.Combine(dir, Path.GetFileName(dir) + ".csproj"))
            .Where(File.Exists)
            .ToDictionary(
                project => Path.GetFileNameWithoutExtension(project),
                project => XDocument.Load(project).Descendants("ProjectReference")
                    .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                    .ToHashSet(StringComparer.Ordinal),
                StringComparer.Ordinal);

    private static IEnumerable<string> PackageReferences(string package) =>
        XDocument.Load(Path.Combine(RepositoryPaths.Root, "src", package, package + ".csproj")).Descendants("PackageReference")
            .Select(r => r.Attribute("Include")!.Value);

    private static HashSet<string> Closure(string package, Dictionary<string, HashSet<string>> graph)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { package };
        var pending = new Stack<string>([package]);
        while (pending.TryPop(out var next))
            foreach (var reference in graph[next])
                if (seen.Add(reference)) pending.Push(reference);
        return seen;
    }

    /// <summary>The rows of the "| package | references |" table of docs/concepts.md.</summary>
    private static Dictionary<string, HashSet<string>> DocumentedReferences()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Docs, "concepts.md"));
        var header = Array.FindIndex(lines, l => l.Trim() == "| package | references |");
        Assert.True(header >= 0, "docs/concepts.md has no '| package | references |' table.");
        var table = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(header + 2).TakeWhile(l => l.TrimStart().StartsWith('|')))
        {
            var cells = line.Trim().Trim('|').Split('|');
            var package = Names(cells[0]).Single();
            table.Add(package, Names(cells[1]).ToHashSet(StringComparer.Ordinal));
        }
        return table;
    }

    private static IEnumerable<string> Names(string cell) => PackageName().Matches(cell).Select(m => m.Groups[1].Value);

    [GeneratedRegex(@"`(TailorPO\.[A-Za-z.]+)`")]
    private static partial Regex PackageName();
}
