using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace TailorPO.Diffusion.Tokenization;

/// <summary>The HTML Standard's named character references, parsed once from <see cref="Table"/>.</summary>
internal static partial class HtmlNamedCharacterReferences
{
    private static readonly Lazy<FrozenDictionary<string, string>> Parsed = new(Parse);

    /// <summary>Every reference name (e.g. <c>amp;</c> and the legacy <c>amp</c>) mapped to its replacement text.</summary>
    public static FrozenDictionary<string, string> ByName => Parsed.Value;

    private static FrozenDictionary<string, string> Parse()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Table.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':');
            var text = new StringBuilder(2);
            foreach (var hex in entry[(colon + 1)..].Split(','))
                text.Append(char.ConvertFromUtf32(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            map.Add(entry[..colon], text.ToString());
        }
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
