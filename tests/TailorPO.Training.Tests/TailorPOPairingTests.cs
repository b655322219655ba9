using TailorPO.Training.Metrics;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>TailorPO's <see cref="TailorPOPairing.DifferentInputs"/> option: Table 10's step-level ranking ablation.</summary>
public class TailorPOPairingTests
{
    [Fact]
    public void Pairs_from_different_inputs_are_refused_outside_plain_online_TailorPO_with_two_candidates()
    {
        // TailorPO-G: the pairing does not apply to it at all (the ablation is defined without guidance).
        using (var guided = new TrainerSetup(TrainingMethods.TailorPOGuided, o => o.Pairing = TailorPOPairing.DifferentInputs))
        {
            var error = Assert.Throws<ArgumentException>(() => guided.CreateTrainer());
            Assert.Contains("Pairing = DifferentInputs does not apply to tailorpo-g", error.Message);
        }
        // Plain TailorPO: only online, only two candidates; every problem in one message.
        using (var collect = new TrainerSetup(TrainingMethods.TailorPO, o =>
            (o.Pairing, o.LoopMode, o.Candidates) = (TailorPOPairing.DifferentInputs, TrainingLoopMode.CollectThenTrain, 3)))
        {
            var error = Assert.Throws<ArgumentException>(() => collect.CreateTrainer());
            Assert.Contains("Pairing DifferentInputs runs only in the Online loop", error.Message);
            Assert.Contains("Candidates must be 2", error.Message);
        }
        using var plain = new TrainerSetup(TrainingMethods.TailorPO, o => o.Pairing = TailorPOPairing.DifferentInputs);
        using var trainer = plain.CreateTrainer();
        Assert.Equal("tailorpo-different-inputs", trainer.Method.Name);
    }

    [Fact]
    public void Pairs_from_different_inputs_count_two_images_per_prompt_and_prefer_the_higher_step_reward()
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.Pairing, o.SampleBudget) = (TailorPOPairing.DifferentInputs, 8));
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
