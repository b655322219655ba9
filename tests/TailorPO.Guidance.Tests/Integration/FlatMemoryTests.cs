using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Integration;

/// <summary>
/// Long loops keep memory flat: every temporary of a sampler step, a candidate scoring and a guidance
/// refinement is freed inside the call, and results leave through <c>MoveToOuterDisposeScope</c>. The loop
/// opens NO dispose scope around the calls and disposes only what they return, so any temporary that
/// escaped a call would stay alive and be counted in the thread's live tensors.
/// </summary>
public class FlatMemoryTests
{
    private const int Iterations = 200;
    private const int Steps = 10;

    [Fact]
    public void Two_hundred_sampling_scoring_and_guidance_iterations_leave_the_live_tensor_count_unchanged()
    {
        var sampler = new DdimSampler(new TanhNoisePredictor(), NoiseSchedule.StableDiffusionV15(),
            new SamplingOptions { InferenceSteps = Steps, Eta = 1.0 });
        var reward = new RewardEnsemble([
            new RewardEnsembleMember(new ColorfulnessReward(), 1.0, new RunningRewardNormalizer()),
            new RewardEnsembleMember(new SaturationReward(), 0.5, new FixedRewardNormalizer(0.2, 0.1)),
            new RewardEnsembleMember(new ContrastTargetReward(), 0.0)]);
        var estimator = new StepRewardEstimator(new IdentityLatentDecoder(), reward);
        var refiner = new RewardGradientRefiner(estimator, new CosineGuidanceSchedule(), computeOpposite: true);
        using var generator = new Generator(3);
        using var latents = randn([2, 3, 4, 4], generator: generator) * 0.5;
        using var embeddings = randn([2, 3, 8], generator: generator) * 0.3;
        using var negative = zeros_like(embeddings);
        var condition = new DiffusionCondition(["a cat", "a dog"], embeddings, negative, 5.0);

        // Each step index in turn, the last one (candidates are x_0) included.
        void Iterate(int i)
        {
            var stepIndex = i % Steps;
            var step = sampler.Step(latents, stepIndex, condition, candidates: 2, generator);
            var scored = estimator.ScoreCandidates(sampler, step.Candidates, stepIndex, condition);
            var estimated = estimator.EstimateCandidates(scored.PredictedOriginals, condition.Prompts);
            var preferred = step.Candidates[0];
            var refined = refiner.Refine(sampler, preferred, stepIndex, condition);
            var report = refined.Report!;
            LiveTensors.DisposeAll(step.NoisePrediction, step.PredictedOriginal, step.Mean, step.Sigma, step.Candidates, step.LogProbabilities,
                scored.Rewards, scored.PredictedOriginals, scored.NoisePredictions, estimated, preferred,
                refined.Sample, refined.NextNoisePrediction, report.Proposal, report.Opposite,
                report.PreferredReward, report.ProposalReward, report.OppositeReward, report.Accepted, report.NonFinite);
        }

        LiveTensors.AssertUnchanged(Iterations, Iterate);
    }
}
