using System.Text;
using TailorPO.Core.IO;

namespace TailorPO.Diffusion.Preferences;

/// <summary>
/// Reads a preference-pair CSV: a header <c>prompt,preferred,dispreferred</c> and one pair per line, image paths
/// relative to the CSV's folder (or absolute). Fields follow RFC 4180 quoting (<see cref="CsvFields"/>), so a prompt may hold commas
/// (<c>"a cat, in the snow",cat1.png,cat2.png</c>); a field may not span lines. Everything is checked before any image
/// is decoded, and every problem names the file and line.
/// </summary>
public static class PreferencePairCsv
{
    /// <summary>The required header.</summary>
    public static readonly IReadOnlyList<string> Header = ["prompt", "preferred", "dispreferred"];

    /// <summary>File name looked for when a folder is given instead of a CSV.</summary>
    public const string DefaultFileName = "pairs.csv";

    /// <summary>Reads and checks the pairs.</summary>
    /// <param name="path">The CSV, or a folder holding <see cref="DefaultFileName"/>.</param>
    /// <exception cref="FileNotFoundException">The CSV or an image it names does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad header, wrong field count, bad quoting, empty prompt, or no pair (message names file and line).</exception>
    public static IReadOnlyList<PreferencePairRow> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, DefaultFileName) : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"Preference-pair CSV '{file}' does not exist.", file);
        var folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var rows = new List<PreferencePairRow>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(file, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var fields = CsvFields.Split(line, file, lineNumber);
            if (lineNumber == 1)
            {
                if (!fields.Select(f => f.Trim().ToLowerInvariant()).SequenceEqual(Header))
                    throw new InvalidDataException($"{file}:1: the header must be '{string.Join(",", Header)}'; got '{line}'.");
                continue;
            }
            if (fields.Count != Header.Count)
                throw new InvalidDataException($"{file}:{lineNumber}: expected {Header.Count} fields (prompt, preferred, dispreferred); got {fields.Count}.");
            if (string.IsNullOrWhiteSpace(fields[0])) throw new InvalidDataException($"{file}:{lineNumber}: the prompt is empty.");
            string Image(string field, string column)
            {
                if (string.IsNullOrWhiteSpace(field)) throw new InvalidDataException($"{file}:{lineNumber}: the {column} image path is empty.");
                var full = Path.GetFullPath(Path.Combine(folder, field.Trim()));
                return File.Exists(full) ? full : throw new FileNotFoundException($"{file}:{lineNumber}: the {column} image '{full}' does not exist.", full);
            }
            rows.Add(new PreferencePairRow(lineNumber, fields[0], Image(fields[1], "preferred"), Image(fields[2], "dispreferred")));
        }
        if (lineNumber == 0) throw new InvalidDataException($"{file} is empty; expected the header '{string.Join(",", Header)}' and one pair per line.");
        if (rows.Count == 0) throw new InvalidDataException($"{file} holds no pair.");
        return rows;
    }
}
