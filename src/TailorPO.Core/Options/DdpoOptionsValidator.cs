using Microsoft.Extensions.Options;
using static TailorPO.Core.Options.OptionsChecks;

namespace TailorPO.Core.Options;

/// <summary>Validates <see cref="DdpoOptions"/>: clip range and advantage clip &gt; 0, 1 &lt;= min count &lt;= buffer size.</summary>
public sealed class DdpoOptionsValidator : IValidateOptions<DdpoOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DdpoOptions options) => ToResult(Check(options, nameof(DdpoOptions)));

    internal static IEnumerable<string> Check(DdpoOptions options, string prefix)
    {
        if (!(options.ClipRange > 0 && options.ClipRange < 1))
            yield return $"{Path(prefix, nameof(options.ClipRange))} must lie in (0, 1) (ddpo-pytorch uses 1e-4); got {Show(options.ClipRange)}.";
        if (!IsPositiveFinite(options.AdvantageClip))
            yield return $"{Path(prefix, nameof(options.AdvantageClip))} must be a finite number > 0 (ddpo-pytorch uses 5); got {Show(options.AdvantageClip)}.";
        if (options.StatBufferSize < 1)
            yield return $"{Path(prefix, nameof(options.StatBufferSize))} must be >= 1 (ddpo-pytorch uses 16); got {options.StatBufferSize}.";
        if (options.StatMinCount < 1 || options.StatMinCount > Math.Max(1, options.StatBufferSize))
            yield return $"{Path(prefix, nameof(options.StatMinCount))} must lie in [1, StatBufferSize = {options.StatBufferSize}] (otherwise per-prompt statistics are never used); got {options.StatMinCount}.";
    }
}
