namespace TailorPO.Guidance.Schedules;

/// <summary>The same eta at every step (an ablation of the paper's cosine schedule).</summary>
public sealed class ConstantGuidanceSchedule : IGuidanceSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="eta">The step size; finite and &gt; 0.</param>
    public ConstantGuidanceSchedule(double eta)
    {
        ScheduleArguments.ValidateEta(eta, nameof(eta));
        Eta = eta;
    }

    /// <summary>The step size.</summary>
    public double Eta { get; }

    /// <inheritdoc />
    public double EtaAt(int stepIndex, int stepCount)
    {
        ScheduleArguments.Validate(stepIndex, stepCount);
        return Eta;
    }
}
