namespace TailorPO.Core.Options;

/// <summary>Which denoising steps are trained.</summary>
public sealed class FinetuneOptions
{
    /// <summary>
    /// T_finetune: the number of uniformly spaced steps trained per trajectory. Paper (Section 4): 5 of 20
    /// (t index 20, 16, 12, 8, 4). Must lie in [1, <see cref="SamplingOptions.InferenceSteps"/>].
    /// </summary>
    public int TrainedSteps { get; set; } = 5;

    /// <summary>
    /// The step indices (into the sampler's timesteps, 0 = noisiest) of <see cref="TrainedSteps"/> uniformly
    /// spaced steps, starting at the first: <c>floor(k n / T)</c> for k = 0 .. T-1. For n = 20, T = 5:
    /// 0, 4, 8, 12, 16 (the paper's t index 20, 16, 12, 8, 4).
    /// </summary>
    /// <param name="inferenceSteps">n, the number of DDIM steps.</param>
    /// <exception cref="ArgumentOutOfRangeException">T is outside [1, n].</exception>
    public IReadOnlyList<int> SelectStepIndices(int inferenceSteps)
    {
        if (inferenceSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps, $"Argument 'inferenceSteps' must be >= 1; got {inferenceSteps}.");
        if (TrainedSteps < 1 || TrainedSteps > inferenceSteps)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"TrainedSteps (T_finetune) is {TrainedSteps}; it must lie in [1, {inferenceSteps}] (the number of DDIM steps).");
        return Enumerable.Range(0, TrainedSteps).Select(k => (int)((long)k * inferenceSteps / TrainedSteps)).ToArray();
    }
}
