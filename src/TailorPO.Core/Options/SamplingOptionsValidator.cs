using Microsoft.Extensions.Options;
using static TailorPO.Core.Options.OptionsChecks;

namespace TailorPO.Core.Options;

/// <summary>Validates <see cref="SamplingOptions"/>: steps &gt;= 1, 0 &lt; eta &lt;= 1, a finite guidance scale &gt;= 0.</summary>
public sealed class SamplingOptionsValidator : IValidateOptions<SamplingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SamplingOptions options) => ToResult(Check(options, nameof(SamplingOptions)));

    internal static IEnumerable<string> Check(SamplingOptions options, string prefix)
    {
        if (options.InferenceSteps < 1)
            yield return $"{Path(prefix, nameof(options.InferenceSteps))} must be >= 1 (the paper uses 20); got {options.InferenceSteps}.";
        if (!(options.Eta > 0 && options.Eta <= 1))
            yield return $"{Path(prefix, nameof(options.Eta))} must lie in (0, 1]: log-probabilities of DDIM steps need eta > 0 (the paper uses 1.0); got {Show(options.Eta)}.";
        if (!(options.GuidanceScale >= 0 && double.IsFinite(options.GuidanceScale)))
            yield return $"{Path(prefix, nameof(options.GuidanceScale))} must be a finite number >= 0 (the paper uses 5.0; 1 disables guidance); got {Show(options.GuidanceScale)}.";
        if (options.TimestepSpacing is { } spacing && !Enum.IsDefined(spacing))
            yield return $"{Path(prefix, nameof(options.TimestepSpacing))} has an unknown value {spacing}.";
    }
}
