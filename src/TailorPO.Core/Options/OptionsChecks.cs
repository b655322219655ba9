using System.Globalization;
using Microsoft.Extensions.Options;

namespace TailorPO.Core.Options;

/// <summary>Small helpers shared by the validators: failures name the full option path.</summary>
internal static class OptionsChecks
{
    public static string Path(string prefix, string name) => string.IsNullOrEmpty(prefix) ? name : $"{prefix}.{name}";

    public static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static ValidateOptionsResult ToResult(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }

    public static bool IsPositiveFinite(double value) => value > 0 && double.IsFinite(value);
}
