namespace TailorPO.Training.Pairs;

/// <summary>
/// A fixed set of labelled trajectory pairs for D3PO's human-feedback mode: per pair a prompt and two denoising
/// trajectories from one x_T (every latent x_T ... x_0 and the log-probability of every step when it was sampled), one
/// of which people preferred. Registered in the container, it replaces D3PO's own sampling and reward ranking: the
/// trainer re-scores the stored transitions under the current policy and uses the stored log-probabilities as the
/// reference. <see cref="StoredTrajectoryPairs"/> reads the labelling app's export.
/// </summary>
public interface ILabelledTrajectorySource
{
    /// <summary>How many decided pairs there are (ties are not pairs).</summary>
    int Count { get; }

    /// <summary>The sampling settings every stored trajectory was generated with (the run must use the same).</summary>
    TrajectorySampling Sampling { get; }

    /// <summary>Where the pairs come from (a file path), for messages.</summary>
    string Origin { get; }

    /// <summary>
    /// The pairs at <paramref name="indices"/>, on the CPU: the caller owns the returned tensors (they belong to the
    /// caller's dispose scope).
    /// </summary>
    /// <exception cref="InvalidDataException">A stored file changed since the source checked it (the message names it).</exception>
    LabelledTrajectoryBatch Get(IReadOnlyList<int> indices);
}
