using System.Text;

namespace TailorPO.Core.IO;

/// <summary>
/// Splits one line of a CSV file into its fields with RFC 4180 quoting: a field holding a comma or a quote is quoted,
/// and a quote inside it is doubled (<c>"a cat, ""tabby""",x.png</c>). A field may not span lines. The pair CSVs the
/// trainers read (Diffusion-DPO's image pairs, D3PO's labelled trajectory pairs) share this reader, so both accept
/// exactly the same quoting.
/// </summary>
public static class CsvFields
{
    /// <summary>The fields of <paramref name="line"/>, unquoted.</summary>
    /// <param name="line">One line, without its line break.</param>
    /// <param name="file">The file, for messages.</param>
    /// <param name="lineNumber">The 1-based line number, for messages.</param>
    /// <exception cref="InvalidDataException">Bad quoting; the message names the file, line and column.</exception>
    public static IReadOnlyList<string> Split(string line, string file, int lineNumber)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var fieldStart = true;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else
                {
                    quoted = false;
                    if (i + 1 < line.Length && line[i + 1] != ',')
                        throw new InvalidDataException($"{file}:{lineNumber}: a closing quote must end its field (column {i + 1}).");
                }
            }
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); fieldStart = true; continue; }
            else if (c == '"' && fieldStart) quoted = true;
            else if (c == '"') throw new InvalidDataException($"{file}:{lineNumber}: a quote inside an unquoted field (column {i + 1}); quote the field and double the quote.");
            else field.Append(c);
            fieldStart = false;
        }
        if (quoted) throw new InvalidDataException($"{file}:{lineNumber}: a quoted field is not closed (fields may not span lines).");
        fields.Add(field.ToString());
        return fields;
    }
}
