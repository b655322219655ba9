using System.Diagnostics;
using TailorPO.Training.Options;
using Xunit.Abstractions;

namespace TailorPO.Training.Tests;

/// <summary>Long TailorPO-G runs keep the live tensor count (and, in the long run, the working set) flat.</summary>
public class TrainerMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void One_hundred_TailorPO_G_updates_keep_the_live_tensor_count_flat() => Run(updates: 100, checkWorkingSet: false);

    [Theory]
    [InlineData(TrainingMethods.TailorPO, TrainingLoopMode.Online)]
    [InlineData(TrainingMethods.TailorPOGuided, TrainingLoopMode.Online)]
    [InlineData(TrainingMethods.TailorPO, TrainingLoopMode.CollectThenTrain)]
    [InlineData(TrainingMethods.D3po, TrainingLoopMode.Default)]
    [InlineData(TrainingMethods.Ddpo, TrainingLoopMode.Default)]
    [InlineData(TrainingMethods.DiffusionDpo, TrainingLoopMode.Default)]
    public void A_whole_run_leaves_no_tensor_behind(string method, TrainingLoopMode mode)
    {
        var statistics = TorchSharp.DisposeScopeManager.Statistics;
        using var setup = new TrainerSetup(method, o => (o.SampleBudget, o.LoopMode) = (16, mode));
        // A first run warms the container's singletons (e.g. the sampler's per-device schedule table), which live on.
        using (var warmUp = setup.CreateTrainer())
            warmUp.Train();
        var before = statistics.ThreadTotalLiveCount;
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    /// <summary>The 1,000-update run; with TAILORPO_LONG_TESTS=1 (a few minutes), it also bounds the working set.</summary>
    [SkippableFact]
    public void One_thousand_TailorPO_G_updates_keep_live_tensors_and_the_working_set_flat()
    {
        Skip.If(Environment.GetEnvironmentVariable("TAILORPO_LONG_TESTS") != "1", "The 1,000-update soak takes minutes: set TAILORPO_LONG_TESTS=1 to run it.");
        Run(updates: 1000, checkWorkingSet: true);
    }

    private void Run(int updates, bool checkWorkingSet)
    {
        const int trainedStepsPerTrajectory = 5;
        var trajectories = updates / trainedStepsPerTrajectory;
        using var setup = new TrainerSetup(TrainingMethods.TailorPOGuided, o => (o.SampleBudget, o.LearningRate) = (2 * trajectories, 1e-3));
        using var trainer = setup.CreateTrainer();
        var statistics = TorchSharp.DisposeScopeManager.Statistics;
        var live = new List<long>();
        var workingSet = new List<long>();
        trainer.Train(new SynchronousProgress(p =>
        {
            // Same place of every trajectory: its first trained update.
            if (p.Latest.Update % trainedStepsPerTrajectory != 0) return;
            live.Add(statistics.ThreadTotalLiveCount);
            if (checkWorkingSet && live.Count % 10 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                workingSet.Add(Process.GetCurrentProcess().WorkingSet64);
            }
        }));

        var warm = live.Count / 5;
        output.WriteLine($"{trajectories} trajectories, {updates} updates: live tensors {live[warm]} after warm-up, {live[^1]} at the end");
        Assert.All(live.Skip(warm), count => Assert.Equal(live[warm], count));
        if (checkWorkingSet)
        {
            var baseline = workingSet[workingSet.Count / 5];
            var growth = (workingSet[^1] - baseline) / (double)baseline;
            output.WriteLine($"working set {baseline / 1e6:F1} MB after warm-up -> {workingSet[^1] / 1e6:F1} MB ({growth:P2})");
            Assert.True(growth < 0.05, $"the working set grew by {growth:P2}");
        }
    }
}
