using Microsoft.Extensions.Options;
using TailorPO.Core.Numerics;

namespace TailorPO.Guidance.Options;

/// <summary>Validates <see cref="TailorPOGuidanceOptions"/> at start, listing every problem.</summary>
public sealed class TailorPOGuidanceOptionsValidator : IValidateOptions<TailorPOGuidanceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPOGuidanceOptions options)
    {
        // The host validates options at start: the CPU numerics guard decides there, once per process (TorchNumerics).
        TorchNumerics.EnsureGuarded();
        var failures = new List<string>();
        if (!double.IsFinite(options.Delta) || options.Delta <= 0)
            failures.Add($"TailorPOGuidanceOptions.Delta is {options.Delta}; it must be finite and > 0 (the paper uses 0.5).");
        if (!Enum.IsDefined(options.Schedule))
            failures.Add($"TailorPOGuidanceOptions.Schedule {options.Schedule} is not a defined schedule.");
        if (!double.IsFinite(options.EtaMin) || options.EtaMin <= 0)
            failures.Add($"TailorPOGuidanceOptions.EtaMin is {options.EtaMin}; it must be finite and > 0 (the paper uses 0.1).");
        if (!double.IsFinite(options.EtaMax) || options.EtaMax <= 0)
            failures.Add($"TailorPOGuidanceOptions.EtaMax is {options.EtaMax}; it must be finite and > 0 (the paper uses 0.2).");
        else if (double.IsFinite(options.EtaMin) && options.EtaMax < options.EtaMin)
            failures.Add($"TailorPOGuidanceOptions.EtaMax ({options.EtaMax}) is below EtaMin ({options.EtaMin}); need 0 < EtaMin <= EtaMax.");
        if (!double.IsFinite(options.ConstantEta) || options.ConstantEta <= 0)
            failures.Add($"TailorPOGuidanceOptions.ConstantEta is {options.ConstantEta}; it must be finite and > 0.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
