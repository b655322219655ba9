using System.Diagnostics;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.UNet;
using TailorPO.Diffusion.Vae;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Soak;

/// <summary>
/// TailorPO's sampling loop over the real (tiny fixture) UNet and VAE - K = 2 candidates from one x_t,
/// step rewards through x0_hat and the decoder, the preferred candidate continues and its noise
/// prediction is reused - keeps memory flat over 200 sampler steps in one process.
/// </summary>
public class TailorPOSamplingLoopMemoryTests(ITestOutputHelper output)
{
    private const int TotalSteps = 200;
    private const int WarmUpSteps = 40;

    [Fact]
    public void Two_hundred_sampler_steps_leave_no_tensor_behind_and_keep_the_working_set_flat()
    {
        using var unet = UNet2DConditionModel.FromPretrained(FixtureRoot.Combine("unet"));
        using var vae = AutoencoderKL.FromPretrained(FixtureRoot.Combine("vae"));
        var schedule = new NoiseSchedule(SchedulerConfig.FromFile(FixtureRoot.Combine("ddim", "scheduler_config.json")));
        var sampler = new DdimSampler(new UNetNoisePredictor(unet), schedule, new SamplingOptions { InferenceSteps = 20, Eta = 1.0 });
        var estimator = new StepRewardEstimator(new VaeLatentDecoder(vae), new BrightnessTargetReward(0.7));

        var generator = new Generator(11);
        var crossAttention = unet.Config.CrossAttentionDim[0];
        var side = 8; // small latents keep the 200 steps quick; memory behaviour does not depend on size
        using var prompt = randn(new long[] { 1, 8, crossAttention }, generator: generator);
        using var negative = randn(new long[] { 1, 8, crossAttention }, generator: generator);
        var condition = new DiffusionCondition(["a bright picture"], prompt, negative, GuidanceScale: 5.0);

        var statistics = DisposeScopeManager.Statistics;
        Tensor? latents = null;
        Tensor? reusedNoise = null;
        long liveAfterWarmUp = 0, workingSetAfterWarmUp = 0, acceptedSteps = 0;

        for (int step = 0; step < TotalSteps; step++)
        {
            int stepIndex = step % sampler.Timesteps.Count;
            if (stepIndex == 0)
            {
                latents?.Dispose();
                reusedNoise?.Dispose();
                reusedNoise = null;
                latents = randn(new long[] { 1, unet.Config.InChannels, side, side }, generator: generator);
            }

            using (var scope = NewDisposeScope())
            {
                var drawn = sampler.Step(latents!, stepIndex, condition, candidates: 2, generator, reusedNoise);
                var scored = estimator.ScoreCandidates(sampler, drawn.Candidates, stepIndex, condition);
                var winner = scored.Rewards[0, 0].item<float>() >= scored.Rewards[1, 0].item<float>() ? 0 : 1;
                acceptedSteps += winner;

                var nextLatents = drawn.Candidates[winner].MoveToOuterDisposeScope();
                var nextNoise = scored.NoisePredictions?[winner].MoveToOuterDisposeScope();
                latents!.Dispose();
                reusedNoise?.Dispose();
                latents = nextLatents;
                reusedNoise = nextNoise;
            }

            if (step + 1 == WarmUpSteps)
            {
                liveAfterWarmUp = statistics.ThreadTotalLiveCount;
                workingSetAfterWarmUp = SettledWorkingSet();
            }
        }

        long liveAtEnd = statistics.ThreadTotalLiveCount;
        long workingSetAtEnd = SettledWorkingSet();
        double growth = (workingSetAtEnd - workingSetAfterWarmUp) / (double)workingSetAfterWarmUp;
        output.WriteLine($"live tensors after {WarmUpSteps} steps: {liveAfterWarmUp}, after {TotalSteps}: {liveAtEnd}; " +
            $"working set {workingSetAfterWarmUp / 1e6:F1} MB -> {workingSetAtEnd / 1e6:F1} MB ({growth:P2}); second candidate preferred {acceptedSteps} times");
        latents?.Dispose();
        reusedNoise?.Dispose();

        Assert.Equal(liveAfterWarmUp, liveAtEnd);
        // The process working set depends on the allocator and the machine's load: on this project's machines it grew
        // 9-17 % here even on the unmodified landed main while the live tensor count stayed exactly flat. Memory targets are
        // shown by long runs, not in the default suite (the brief's rule): set TAILORPO_LONG_TESTS=1 to assert it.
        if (Environment.GetEnvironmentVariable("TAILORPO_LONG_TESTS") == "1")
            Assert.True(growth < 0.05, $"the working set grew by {growth:P2} over {TotalSteps - WarmUpSteps} steps (limit 5%)");
        Assert.InRange(acceptedSteps, 1, TotalSteps - 1); // both candidates win sometimes: the ranking is live
    }

    private static long SettledWorkingSet()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
