using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Tests.Support;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Sampling;

/// <summary>
/// A training loop over Core's sampler, step math and losses keeps memory flat: the loop opens NO dispose
/// scope around the calls and disposes only what they return, so a temporary that escaped any call would
/// stay alive and be counted in the thread's live tensors.
/// </summary>
public class FlatMemoryTests
{
    private const int Iterations = 200;

    [Fact]
    public void Two_hundred_sample_rescore_and_loss_iterations_leave_the_live_tensor_count_unchanged()
    {
        using var predictor = new CountingNoisePredictor();
        var sampler = new DdimSampler(predictor, NoiseSchedule.StableDiffusionV15(), new SamplingOptions { InferenceSteps = 10, Eta = 1.0 });
        var tailorPO = new TailorPOLoss();
        var diffusionDpo = new DiffusionDpoLoss();
        using var generator = new Generator(11);
        using var latents = randn([2, 4, 4, 4], generator: generator);
        using var embeddings = randn([2, 3, 8], generator: generator);
        using var negative = zeros_like(embeddings);
        var condition = new DiffusionCondition(["a cat", "a dog"], embeddings, negative, 5.0);
        using var reward0 = tensor(new[] { 1f, 0f });
        using var reward1 = tensor(new[] { 0f, 1f });

        void Iterate(int i)
        {
            var stepIndex = i % sampler.Timesteps.Count;
            var step = sampler.Step(latents, stepIndex, condition, candidates: 2, generator);
            var first = step.Candidates[0];
            var second = step.Candidates[1];
            var policy = sampler.Score(new SamplerTransition(stepIndex, latents, first, step.LogProbabilities), condition);
            TransitionScore reference;
            using (no_grad())
                reference = sampler.Score(new SamplerTransition(stepIndex, latents, first, step.LogProbabilities), condition);
            var h0 = DdimStepMath.LogRatio(first, policy.Mean, reference.Mean, policy.Sigma);
            var h1 = DdimStepMath.LogRatio(second, policy.Mean, reference.Mean, policy.Sigma);
            var loss = tailorPO.ComputeFromCandidates(h0, h1, reward0, reward1);
            loss.Loss.backward();
            var errorW = DiffusionDpoLoss.DenoisingError(step.NoisePrediction, first);
            var errorL = DiffusionDpoLoss.DenoisingError(step.NoisePrediction, second);
            var dpo = diffusionDpo.ComputeFromErrors(errorW, errorL, errorL, errorW);
            var combined = ClassifierFreeGuidance.Combine(first, second, 5.0);
            LiveTensors.DisposeAll(step.NoisePrediction, step.PredictedOriginal, step.Mean, step.Sigma, step.Candidates, step.LogProbabilities,
                first, second, policy.Mean, policy.Sigma, policy.LogProbability, reference.Mean, reference.Sigma, reference.LogProbability,
                h0, h1, loss.Loss, loss.Statistics.Values, errorW, errorL, dpo.Loss, dpo.Statistics.Values, combined);
        }

        LiveTensors.AssertUnchanged(Iterations, Iterate);
    }
}
