using System.ComponentModel;
using System.Globalization;

namespace TailorPO.Samples.Cli;

/// <summary>
/// A help text with the values of constants formatted into it (invariant culture), so a documented default cannot
/// drift from the constant the code uses: <c>[FormattedDescription("Default: {0:0e0}.", Settings.DefaultRate)]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FormattedDescriptionAttribute : DescriptionAttribute
{
    /// <summary>Formats <paramref name="format"/> with <paramref name="values"/>.</summary>
    /// <param name="format">A composite format string.</param>
    /// <param name="values">The constants it shows.</param>
    public FormattedDescriptionAttribute(string format, params object[] values)
        : base(string.Format(CultureInfo.InvariantCulture, format, values))
    {
    }
}
