namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// The rewards of one evaluated image set: per reward of the <see cref="RewardPanel"/>, per evaluation seed, the mean
/// over the prompts - on the held-out prompts and on training prompts.
/// </summary>
/// <param name="HeldOut">Reward name -> per-seed means on the held-out prompts.</param>
/// <param name="Training">Reward name -> per-seed means on training prompts.</param>
public sealed record ImageSetScores(IReadOnlyDictionary<string, double[]> HeldOut, IReadOnlyDictionary<string, double[]> Training)
{
    /// <summary>The mean over every held-out image of <paramref name="reward"/>.</summary>
    public double HeldOutMean(string reward) => HeldOut[reward].Average();

    /// <summary>The mean over every training-prompt image of <paramref name="reward"/>.</summary>
    public double TrainingMean(string reward) => Training[reward].Average();
}
