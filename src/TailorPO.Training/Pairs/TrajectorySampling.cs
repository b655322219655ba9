using System.Globalization;
using TailorPO.Core.Schedules;

namespace TailorPO.Training.Pairs;

/// <summary>
/// The sampling settings stored trajectories were generated with. Their log-probabilities are only comparable with the
/// run's when all of these agree: the posterior's sigma depends on the scheduler, the step count and eta, and the mean
/// on the classifier-free guidance scale.
/// </summary>
/// <param name="Sampler">The sampler's name, e.g. <see cref="Ddim"/>.</param>
/// <param name="Scheduler">The noise schedule as <see cref="DescribeScheduler"/> writes it.</param>
/// <param name="Steps">Denoising steps.</param>
/// <param name="Eta">DDIM eta (&gt; 0: log-probabilities exist only then).</param>
/// <param name="GuidanceScale">Classifier-free guidance scale.</param>
/// <param name="Timesteps">The inference timesteps, first to last.</param>
public sealed record TrajectorySampling(string Sampler, string Scheduler, int Steps, double Eta, double GuidanceScale, IReadOnlyList<long> Timesteps)
{
    /// <summary>The name of the DDIM sampler (Core's <c>DdimSampler</c>), the one the trainers sample and re-score with.</summary>
    public const string Ddim = "ddim";

    /// <summary>
    /// A one-line description of a noise schedule that changes whenever its log-probabilities would: beta schedule and
    /// range, training timesteps, spacing, offset and the final alpha rule, e.g.
    /// <c>ScaledLinear 0.00085-0.012 x1000, Leading +1, set_alpha_to_one=False, epsilon</c>.
    /// </summary>
    /// <param name="config">The scheduler configuration.</param>
    public static string DescribeScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var betas = config.TrainedBetas is { } trained ? $"trained betas[{trained.Count}]" : $"{config.BetaSchedule} {R(config.BetaStart)}-{R(config.BetaEnd)}";
        return string.Create(CultureInfo.InvariantCulture,
            $"{betas} x{config.NumTrainTimesteps}, {config.TimestepSpacing} +{config.StepsOffset}, set_alpha_to_one={config.SetAlphaToOne}, {config.PredictionType}");
    }

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
