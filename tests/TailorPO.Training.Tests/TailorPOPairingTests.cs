using TailorPO.Training.Metrics;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>TailorPO's <see cref="TailorPOPairing.DifferentInputs"/> option: Table 10's step-level ranking ablation.</summary>
public class TailorPOPairingTests
{
    [Fact]
    public void Pairs_from_different_inputs_are_refused_outside_plain_online_TailorPO_with_two_candidates()
    {
        var options = new TailorPOTrainingOptions
        {
            Method = TrainingMethod.TailorPOG, LoopMode = TrainingLoopMode.CollectThenTrain, Candidates = 3, LatentShape = [3, 4, 4],
            Pairing = TailorPOPairing.DifferentInputs,
        };
        var failures = TailorPOTrainingOptionsValidator.Check(options).Where(f => f.Contains(".Pairing DifferentInputs")).ToList();
        Assert.Contains(failures, f => f.Contains("needs Method TailorPO"));
        Assert.Contains(failures, f => f.Contains("only in the Online loop"));
        Assert.Contains(failures, f => f.Contains("Candidates must be 2"));
        Assert.Empty(TailorPOTrainingOptionsValidator.Check(new TailorPOTrainingOptions { LatentShape = [3, 4, 4], Pairing = TailorPOPairing.DifferentInputs }));
    }

    [Fact]
    public void Pairs_from_different_inputs_count_two_images_per_prompt_and_prefer_the_higher_step_reward()
    {
        using var setup = new TrainerSetup(TrainingMethod.TailorPO, o => (o.Pairing, o.SampleBudget) = (TailorPOPairing.DifferentInputs, 8));
        var rows = new List<TrainingStepMetrics>();
        using var trainer = setup.CreateTrainer();
        var report = trainer.Train(new SynchronousProgress(p => rows.Add(p.Latest)));

        // Batch 2, two trajectories per prompt: 4 images per iteration.
        Assert.Equal(8, report.Samples);
        Assert.Equal(2, report.Iterations);
        Assert.Equal("tailorpo-different-inputs", report.Method);
        var trainedSteps = setup.Core.Finetune.SelectStepIndices(setup.Core.Sampling.InferenceSteps);
        Assert.Equal(2 * trainedSteps.Count, rows.Count);
        Assert.Equal(trainedSteps.Concat(trainedSteps), rows.Select(r => r.StepIndex));
        Assert.All(rows, r =>
        {
            Assert.True(double.IsFinite(r.Loss));
            Assert.True(r.PreferredReward >= r.DispreferredReward, $"step {r.StepIndex}: preferred {r.PreferredReward} < dis-preferred {r.DispreferredReward}");
        });
        Assert.Equal(0, report.SkippedUpdates);
    }
}
