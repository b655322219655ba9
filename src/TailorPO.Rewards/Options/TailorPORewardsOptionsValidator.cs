using Microsoft.Extensions.Options;
using TailorPO.Core.Numerics;
using TailorPO.Rewards.Analytic;

namespace TailorPO.Rewards.Options;

/// <summary>
/// Validates <see cref="TailorPORewardsOptions"/> at start, listing every problem. A kind TailorPO.Rewards does not
/// build itself is checked by the <see cref="IRewardKindFactory"/> registered for it, and refused, naming the package
/// to add, when none is.
/// </summary>
public sealed class TailorPORewardsOptionsValidator : IValidateOptions<TailorPORewardsOptions>
{
    private readonly IReadOnlyList<IRewardKindFactory> _factories;

    /// <summary>A validator that knows only the kinds TailorPO.Rewards builds itself (analytic, JPEG, custom).</summary>
    public TailorPORewardsOptionsValidator()
        : this([])
    {
    }

    /// <summary>A validator that also checks the kinds <paramref name="factories"/> build (the container's registrations).</summary>
    /// <param name="factories">The registered reward-kind factories.</param>
    public TailorPORewardsOptionsValidator(IEnumerable<IRewardKindFactory> factories)
    {
        ArgumentNullException.ThrowIfNull(factories);
        _factories = factories.ToList();
    }

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPORewardsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The host validates options at start: the CPU numerics guard decides there, once per process (TorchNumerics).
        TorchNumerics.EnsureGuarded();
        var failures = new List<string>();
        if (options.Rewards.Count == 0)
            failures.Add("TailorPORewardsOptions.Rewards is empty: add at least one reward (options.Add(RewardKind.X) or RewardKind.Custom with a Factory).");
        if (string.IsNullOrWhiteSpace(options.EnsembleName))
            failures.Add("TailorPORewardsOptions.EnsembleName must not be empty.");
        if (!Enum.IsDefined(options.PixelSpaceRange))
            failures.Add($"TailorPORewardsOptions.PixelSpaceRange {options.PixelSpaceRange} is not a defined value.");

        RewardKindFactories factories;
        try
        {
            factories = new RewardKindFactories(_factories);
        }
        catch (InvalidOperationException conflict)
        {
            failures.Add(conflict.Message);
            factories = new RewardKindFactories([]);
        }

        for (var i = 0; i < options.Rewards.Count; i++)
        {
            var member = options.Rewards[i];
            var at = $"TailorPORewardsOptions.Rewards[{i}]";
            if (member is null)
            {
                failures.Add($"{at} is null.");
                continue;
            }
            ValidateMember(member, at, factories, failures);
        }

        if (options.Rewards.Count > 0 && options.Rewards.Where(m => m is not null).All(m => m.Weight == 0))
            failures.Add("Every reward has weight 0; give at least one a non-zero weight.");

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateMember(RewardMemberOptions member, string at, RewardKindFactories factories, List<string> failures)
    {
        if (!Enum.IsDefined(member.Kind))
            failures.Add($"{at}.Kind {member.Kind} is not a defined reward kind.");
        if (!double.IsFinite(member.Weight))
            failures.Add($"{at}.Weight is {member.Weight}; it must be finite.");
        switch (member.Normalization)
        {
            case RewardNormalizationKind.None:
                break;
            case RewardNormalizationKind.Fixed:
                if (!double.IsFinite(member.NormalizationMean))
                    failures.Add($"{at}.NormalizationMean is {member.NormalizationMean}; it must be finite.");
                if (!double.IsFinite(member.NormalizationStandardDeviation) || member.NormalizationStandardDeviation <= 0)
                    failures.Add($"{at}.NormalizationStandardDeviation is {member.NormalizationStandardDeviation}; it must be finite and > 0.");
                break;
            case RewardNormalizationKind.Running:
                if (!double.IsFinite(member.RunningEpsilon) || member.RunningEpsilon <= 0)
                    failures.Add($"{at}.RunningEpsilon is {member.RunningEpsilon}; it must be finite and > 0.");
                break;
            default:
                failures.Add($"{at}.Normalization {member.Normalization} is not a defined normalisation.");
                break;
        }

        if (member.Epsilon is { } epsilon && (!double.IsFinite(epsilon) || epsilon <= 0))
            failures.Add($"{at}.Epsilon is {epsilon}; it must be finite and > 0 (or null for the reward's default).");

        if (member.ModelDType is { } dtype && dtype is not (TorchSharp.torch.ScalarType.Float32 or TorchSharp.torch.ScalarType.Float16
                or TorchSharp.torch.ScalarType.BFloat16 or TorchSharp.torch.ScalarType.Float64))
            failures.Add($"{at}.ModelDType is {dtype}; use Float32, Float16, BFloat16 or Float64.");

        switch (member.Kind)
        {
            case RewardKind.BrightnessTarget when !double.IsFinite(member.BrightnessTarget) || member.BrightnessTarget < 0 || member.BrightnessTarget > 1:
                failures.Add($"{at}.BrightnessTarget is {member.BrightnessTarget}; a mean luma target must lie in [0, 1].");
                break;
            case RewardKind.ContrastTarget when !double.IsFinite(member.ContrastTarget) || member.ContrastTarget < 0 || member.ContrastTarget > ContrastTargetReward.MaximumTarget:
                failures.Add($"{at}.ContrastTarget is {member.ContrastTarget}; a luma standard deviation target must lie in [0, 0.5].");
                break;
            case RewardKind.Colorfulness when !double.IsFinite(member.ColorfulnessPixelScale) || member.ColorfulnessPixelScale <= 0:
                failures.Add($"{at}.ColorfulnessPixelScale is {member.ColorfulnessPixelScale}; it must be finite and > 0 (1 or 255).");
                break;
            case RewardKind.JpegCompressibility or RewardKind.JpegIncompressibility when member.JpegQuality is < 1 or > 100:
                failures.Add($"{at}.JpegQuality is {member.JpegQuality}; a JPEG quality must lie in 1..100 (DDPO and the paper use 95).");
                break;
            case RewardKind.Custom when member.Factory is null:
                failures.Add($"{at}.Kind is Custom but Factory is null; set Factory = sp => yourReward.");
                break;
            case var kind when Enum.IsDefined(kind) && !RewardKindFactories.IsBuiltIn(kind):
                if (factories.For(kind) is { } factory)
                    factory.Validate(member, at, failures);
                else
                    failures.Add(RewardKindFactories.Missing(kind, at));
                break;
        }
    }
}
