using Microsoft.Extensions.Options;
using TailorPO.Core.Errors;
using TailorPO.Core.Numerics;
using TailorPO.Core.Schedules;
using static TailorPO.Core.Options.OptionsChecks;

namespace TailorPO.Core.Options;

/// <summary>
/// Validates <see cref="TailorPOCoreOptions"/> as a whole: each group's rules, the scheduler config file
/// (exists and parses), inference steps within the training timesteps, and 1 &lt;= T_finetune &lt;= steps.
/// All failures are reported together.
/// </summary>
public sealed class TailorPOCoreOptionsValidator : IValidateOptions<TailorPOCoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TailorPOCoreOptions options)
    {
        // The host validates options at start: the CPU numerics guard decides there, once per process (TorchNumerics).
        TorchNumerics.EnsureGuarded();
        ArgumentNullException.ThrowIfNull(options);
        return ToResult(Check(options));
    }

    private static IEnumerable<string> Check(TailorPOCoreOptions options)
    {
        if (options.Schedule is null || options.Sampling is null || options.Loss is null || options.Ddpo is null || options.Finetune is null)
        {
            yield return "TailorPOCoreOptions.Schedule, .Sampling, .Loss, .Ddpo and .Finetune must not be null.";
            yield break;
        }

        foreach (var failure in SamplingOptionsValidator.Check(options.Sampling, "Sampling")) yield return failure;
        foreach (var failure in PreferenceLossOptionsValidator.Check(options.Loss, "Loss")) yield return failure;
        foreach (var failure in DdpoOptionsValidator.Check(options.Ddpo, "Ddpo")) yield return failure;

        var schedule = LoadSchedule(options.Schedule, out var scheduleFailure);
        if (scheduleFailure is not null) yield return scheduleFailure;

        var steps = options.Sampling.InferenceSteps;
        if (schedule is not null && steps > schedule.NumTrainTimesteps)
            yield return $"Sampling.InferenceSteps is {steps}, more than the {schedule.NumTrainTimesteps} training timesteps of '{schedule.Source}'.";

        var trained = options.Finetune.TrainedSteps;
        if (trained < 1 || trained > Math.Max(1, steps))
            yield return $"Finetune.TrainedSteps (T_finetune) must lie in [1, Sampling.InferenceSteps = {steps}] (the paper trains 5 of 20 steps); got {trained}.";
    }

    private static SchedulerConfig? LoadSchedule(NoiseScheduleOptions options, out string? failure)
    {
        failure = null;
        if (options.SchedulerConfigPath is null) return SchedulerConfig.StableDiffusionV15;
        try
        {
            return SchedulerConfig.FromFile(options.SchedulerConfigPath);
        }
        catch (Exception e) when (e is SchedulerConfigException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            failure = $"Schedule.SchedulerConfigPath: {e.Message}";
            return null;
        }
    }
}
