namespace TailorPO.Guidance.Schedules;

/// <summary>Shared argument checks of the schedules.</summary>
internal static class ScheduleArguments
{
    internal static void Validate(int stepIndex, int stepCount)
    {
        if (stepCount < 1)
            throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, "stepCount must be at least 1.");
        if (stepIndex < 0 || stepIndex >= stepCount)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex, $"stepIndex must lie in [0, {stepCount - 1}] for {stepCount} steps.");
    }

    internal static void ValidateEta(double eta, string name)
    {
        if (!double.IsFinite(eta) || eta <= 0)
            throw new ArgumentOutOfRangeException(name, eta, $"{name} must be finite and > 0.");
    }
}
