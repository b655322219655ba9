namespace TailorPO.Training.Options;

/// <summary>When the trainer updates the weights relative to sampling.</summary>
public enum TrainingLoopMode
{
    /// <summary>The method's own default: online for TailorPO / TailorPO-G, collect-then-train for the others.</summary>
    Default,

    /// <summary>
    /// Algorithm 1: update at each trained step while the trajectory proceeds (the preferred candidate continues
    /// under the updated weights). TailorPO and TailorPO-G only.
    /// </summary>
    Online,

    /// <summary>
    /// Sample a batch of trajectories with the current weights, store the transitions, then train on them in
    /// shuffled inner epochs (DDPO / D3PO style).
    /// </summary>
    CollectThenTrain,
}
