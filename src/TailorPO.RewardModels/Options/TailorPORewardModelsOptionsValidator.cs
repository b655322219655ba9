using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Options;

/// <summary>Validates <see cref="TailorPORewardModelsOptions"/> at start, listing every problem.</summary>
public sealed class TailorPORewardModelsOptionsValidator : IValidateOptions<TailorPORewardModelsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPORewardModelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.ModelDType is { } dtype && dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
            failures.Add($"TailorPORewardModelsOptions.ModelDType is {dtype}; use Float32, Float16, BFloat16 or Float64 (or null for float32).");
        if (options.ModelDevice is { } device && string.IsNullOrWhiteSpace(device))
            failures.Add("TailorPORewardModelsOptions.ModelDevice is blank; name a device such as \"cpu\" or \"cuda:0\", or leave it null for the CPU.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
