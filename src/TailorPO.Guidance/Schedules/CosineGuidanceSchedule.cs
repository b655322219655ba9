namespace TailorPO.Guidance.Schedules;

/// <summary>
/// The paper's schedule: eta_t rises along a half cosine from <see cref="Minimum"/> at the first
/// (noisiest) step to <see cref="Maximum"/> at the last step, i.e. it is larger for smaller t, where
/// x0_hat is close to the image and the reward gradient is reliable. Exactly:
/// <c>p = stepIndex / (stepCount - 1)</c> (p = 1 when stepCount = 1) and
/// <c>eta = min + (max - min) * (1 - cos(pi * p)) / 2</c>. Defaults [0.1, 0.2] as in the paper.
/// </summary>
public sealed class CosineGuidanceSchedule : IGuidanceSchedule
{
    /// <summary>The paper's lower bound.</summary>
    public const double PaperMinimum = 0.1;

    /// <summary>The paper's upper bound.</summary>
    public const double PaperMaximum = 0.2;

    /// <summary>Creates the schedule.</summary>
    /// <param name="minimum">eta at the first step; finite and &gt; 0. Default 0.1.</param>
    /// <param name="maximum">eta at the last step; finite and &gt;= minimum. Default 0.2.</param>
    public CosineGuidanceSchedule(double minimum = PaperMinimum, double maximum = PaperMaximum)
    {
        ScheduleArguments.ValidateEta(minimum, nameof(minimum));
        ScheduleArguments.ValidateEta(maximum, nameof(maximum));
        if (maximum < minimum)
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, $"maximum must be >= minimum ({minimum}).");
        Minimum = minimum;
        Maximum = maximum;
    }

    /// <summary>eta at the first (noisiest) step.</summary>
    public double Minimum { get; }

    /// <summary>eta at the last step.</summary>
    public double Maximum { get; }

    /// <inheritdoc />
    public double EtaAt(int stepIndex, int stepCount)
    {
        ScheduleArguments.Validate(stepIndex, stepCount);
        var progress = stepCount == 1 ? 1.0 : (double)stepIndex / (stepCount - 1);
        return Minimum + (Maximum - Minimum) * (1 - Math.Cos(Math.PI * progress)) / 2;
    }
}
