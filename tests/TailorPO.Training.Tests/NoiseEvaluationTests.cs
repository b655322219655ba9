using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// Model evaluations per generated image, against counts derived by hand from each algorithm (10 DDIM steps, trained
/// step indices 0, 2, 4, 6, 8, K = 2, CFG on; a CFG call counts once per sample). Every eps already paid for is reused.
/// </summary>
public class NoiseEvaluationTests
{
    [Theory]
    // TailorPO: a trained step samples (1), scores its 2 candidates at t' (2), re-scores x_t under the policy (1) and the
    // reference (1) = 5; the untrained step after it reuses the winner's eps (0): 5 x 5 = 25.
    [InlineData(TrainingMethods.TailorPO, 25.0)]
    // TailorPO-G: + the reward gradient through x0_hat (1) and the acceptance check of x^w and x^+ (2), whose eps the
    // next step reuses: 8 per trained step, 0 for the steps after them.
    [InlineData(TrainingMethods.TailorPOGuided, 40.0)]
    // D3PO: two trajectories of 10 steps (20) + per trained step both transitions under policy and reference (4 x 5 = 20),
    // over the two images of the prompt: 20 per image.
    [InlineData(TrainingMethods.D3po, 20.0)]
    // DDPO: 10 sampling steps + the policy re-score at each trained step (5); the old log-probability was stored.
    [InlineData(TrainingMethods.Ddpo, 15.0)]
    public void Evaluations_per_image_match_the_algorithm(string method, double expected)
    {
        using var setup = new TrainerSetup(method, o =>
        {
            o.SampleBudget = 8;
            if (method is TrainingMethods.D3po or TrainingMethods.Ddpo) o.CollectBatches = 1; // online TailorPO collects nothing
        });
        using var trainer = setup.CreateTrainer();
        var report = trainer.Train();
        Assert.Equal(expected, report.NoiseEvaluationsPerSample, 9);
    }
}
