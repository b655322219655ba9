using System.Text.RegularExpressions;

namespace TailorPO.Docs.Tests;

/// <summary>
/// A console app the docs spell out completely: the blocks tagged <c>// file: NAME/FILE.cs</c> with one NAME. Blocks
/// naming the same file are joined in page order with their <c>using</c> directives moved to the top, as a reader
/// pasting them one after the other into one file does.
/// </summary>
/// <param name="Name">The app's name (also its project and assembly name).</param>
/// <param name="Files">File name to assembled source.</param>
/// <param name="Blocks">The blocks it is made of, in page order.</param>
public sealed partial record DocApp(string Name, IReadOnlyDictionary<string, string> Files, IReadOnlyList<DocBlock> Blocks)
{
    /// <summary>Every app of the docs, by name.</summary>
    public static IReadOnlyList<DocApp> FromBlocks(IEnumerable<DocBlock> blocks)
    {
        var tagged = blocks.Where(b => b.IsCSharp && b.AppFile is not null).ToList();
        foreach (var block in tagged)
            if (!AppFilePattern().IsMatch(block.AppFile!))
                throw new FormatException($"{block}: '{block.FirstLine}' should name APP/FILE.cs (letters, digits, '-', '.').");
        return tagged
            .GroupBy(b => b.AppFile!.Split('/')[0], StringComparer.Ordinal)
            .Select(app => new DocApp(app.Key,
                app.GroupBy(b => b.AppFile!.Split('/')[1], StringComparer.Ordinal)
                    .ToDictionary(file => file.Key, file => Assemble(file), StringComparer.Ordinal),
                app.ToList()))
            .OrderBy(a => a.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Joins blocks into one source file, hoisting each block's leading <c>using</c> directives (once each).</summary>
    public static string Assemble(IEnumerable<DocBlock> blocks)
    {
        var directives = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var bodies = new List<string>();
        foreach (var block in blocks)
        {
            var lines = block.Body.ToList();
            var body = new List<string>();
            var leading = true;
            foreach (var line in lines)
            {
                var directive = UsingDirective().Match(line);
                if (leading && directive.Success)
                {
                    if (seen.Add(directive.Groups["directive"].Value)) directives.Add(line);
                    continue;
                }
                if (line.Trim().Length > 0 && !line.TrimStart().StartsWith("//", StringComparison.Ordinal)) leading = false;
                body.Add(line);
            }
            bodies.Add(string.Join("\n", body).Trim('\n'));
        }
        return string.Join("\n", directives) + "\n\n" + string.Join("\n\n", bodies) + "\n";
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9.-]*/[A-Za-z0-9][A-Za-z0-9.-]*\.cs$")]
    private static partial Regex AppFilePattern();

    // A using DIRECTIVE (namespace, static or alias), not a using statement such as "using var x = ...;".
    [GeneratedRegex(@"^(?<directive>using\s+(static\s+)?[A-Za-z_][\w.]*(\s*=\s*[\w.<>, ]+)?;)\s*(//.*)?$")]
    private static partial Regex UsingDirective();
}
