namespace TailorPO.Samples.Pretraining;

/// <summary>Progress of a pretraining run, reported after every step.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">All steps.</param>
/// <param name="Loss">This step's noise-prediction MSE.</param>
/// <param name="AverageLoss">Mean loss over the last 50 steps.</param>
/// <param name="LearningRate">This step's learning rate.</param>
/// <param name="Elapsed">Wall time of this run (not counting earlier runs resumed from).</param>
/// <param name="CheckpointWritten">True when this step wrote a checkpoint.</param>
public sealed record PretrainProgress(int Step, int TotalSteps, double Loss, double AverageLoss, double LearningRate, TimeSpan Elapsed, bool CheckpointWritten);
