namespace TailorPO.Docs.Tests;

/// <summary>
/// A fenced code block of a docs page. A C# block starts with one of the two tags docs/README.md defines:
/// <c>// file: APP/FILE.cs</c> (a file of a complete console app) or <c>// excerpt</c> (a fragment, not built).
/// </summary>
/// <param name="Page">The page's file name, e.g. <c>getting-started.md</c>.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Language">The fence's info string (<c>csharp</c>, <c>bash</c>, or empty).</param>
/// <param name="Text">The block's lines, '\n'-separated, without the fences.</param>
public sealed record DocBlock(string Page, int Line, string Language, string Text)
{
    /// <summary>The tag that marks a fragment.</summary>
    public const string ExcerptTag = "// excerpt";

    /// <summary>The tag that names the app file a block belongs to.</summary>
    public const string FileTag = "// file: ";

    /// <summary>The first line, trimmed.</summary>
    public string FirstLine => Text.Split('\n')[0].Trim();

    /// <summary>True for a C# block (<c>csharp</c> or <c>cs</c>).</summary>
    public bool IsCSharp => Language is "csharp" or "cs" or "c#";

    /// <summary>True when the block is marked as a fragment.</summary>
    public bool IsExcerpt => FirstLine == ExcerptTag || FirstLine.StartsWith(ExcerptTag + ":", StringComparison.Ordinal);

    /// <summary>The <c>APP/FILE.cs</c> the block belongs to, or null when it has no file tag.</summary>
    public string? AppFile => FirstLine.StartsWith(FileTag, StringComparison.Ordinal) ? FirstLine[FileTag.Length..].Trim() : null;

    /// <summary>The lines after the tag line.</summary>
    public IEnumerable<string> Body => Text.Split('\n').Skip(1);

    /// <inheritdoc />
    public override string ToString() => $"docs/{Page}:{Line}";

    /// <summary>Every fenced block of every <c>*.md</c> page directly in <paramref name="docsFolder"/>, in page order.</summary>
    public static IReadOnlyList<DocBlock> ReadAll(string docsFolder)
    {
        var blocks = new List<DocBlock>();
        foreach (var path in Directory.GetFiles(docsFolder, "*.md").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (!lines[i].StartsWith("```", StringComparison.Ordinal)) continue;
                var language = lines[i][3..].Trim();
                var end = Array.FindIndex(lines, i + 1, l => l.TrimEnd() == "```");
                if (end < 0) throw new FormatException($"docs/{Path.GetFileName(path)}:{i + 1}: the code fence is never closed.");
                blocks.Add(new DocBlock(Path.GetFileName(path), i + 1, language, string.Join("\n", lines[(i + 1)..end])));
                i = end;
            }
        }
        return blocks;
    }
}
