namespace TailorPO.Guidance.Schedules;

/// <summary>
/// The guidance step size eta_t of TailorPO-G (Eq. 14) as a function of the sampler step.
/// </summary>
public interface IGuidanceSchedule
{
    /// <summary>eta for the candidates drawn at <paramref name="stepIndex"/> (the index of x_t in the sampler's timesteps).</summary>
    /// <param name="stepIndex">0 (noisiest x_t) to <paramref name="stepCount"/> - 1 (the step that produces x_0).</param>
    /// <param name="stepCount">The sampler's number of inference steps (&gt;= 1).</param>
    /// <returns>A finite eta &gt; 0.</returns>
    double EtaAt(int stepIndex, int stepCount);
}
