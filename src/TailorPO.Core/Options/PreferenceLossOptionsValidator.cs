using Microsoft.Extensions.Options;
using static TailorPO.Core.Options.OptionsChecks;

namespace TailorPO.Core.Options;

/// <summary>Validates <see cref="PreferenceLossOptions"/>: beta &gt; 0, clamp eps in (0, 1), beta_dpo &gt; 0, a known kind.</summary>
public sealed class PreferenceLossOptionsValidator : IValidateOptions<PreferenceLossOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PreferenceLossOptions options) => ToResult(Check(options, nameof(PreferenceLossOptions)));

    internal static IEnumerable<string> Check(PreferenceLossOptions options, string prefix)
    {
        if (!Enum.IsDefined(options.Kind))
            yield return $"{Path(prefix, nameof(options.Kind))} has an unknown value {options.Kind}; expected one of {string.Join(", ", Enum.GetNames<PreferenceLossKind>())}.";
        if (!IsPositiveFinite(options.Beta))
            yield return $"{Path(prefix, nameof(options.Beta))} must be a finite number > 0 (the paper uses 0.1); got {Show(options.Beta)}.";
        if (options.D3poClampEpsilon is { } d3po && !(d3po > 0 && d3po < 1))
            yield return $"{Path(prefix, nameof(options.D3poClampEpsilon))} must lie in (0, 1) or be null (D3PO uses 0.1); got {Show(d3po)}.";
        if (options.TailorPOClampEpsilon is { } tailor && !(tailor > 0 && tailor < 1))
            yield return $"{Path(prefix, nameof(options.TailorPOClampEpsilon))} must lie in (0, 1) or be null (no clamp, Eq. 10); got {Show(tailor)}.";
        if (!IsPositiveFinite(options.DiffusionDpoBeta))
            yield return $"{Path(prefix, nameof(options.DiffusionDpoBeta))} must be a finite number > 0 (Diffusion-DPO uses 5000); got {Show(options.DiffusionDpoBeta)}.";
    }
}
