using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.StepRewards;
using TailorPO.Rewards.Tests.Analytic;
using TailorPO.TestUtilities;
using TailorPO.TestUtilities.Doubles;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.StepRewards;

public class StepRewardEstimatorTests
{
    private static Tensor Latents(long seed, params long[] shape)
    {
        using var generator = new Generator((ulong)seed);
        return randn(shape, dtype: ScalarType.Float64, generator: generator);
    }

    private static DiffusionCondition Condition(int batch, long seed = 99)
    {
        using var generator = new Generator((ulong)seed);
        return new DiffusionCondition(TestImages.Prompts(batch), randn([batch, 3, 5], dtype: ScalarType.Float64, generator: generator) * 0.3);
    }

    [Fact]
    public void Estimate_is_the_reward_of_the_decoded_prediction()
    {
        using var scope = NewDisposeScope();
        var decoder = new SquashedLinearDecoder();
        var reward = new ColorfulnessReward();
        var estimator = new StepRewardEstimator(decoder, reward);
        var x0 = Latents(1, 2, 4, 3, 3);
        var expected = reward.Score(decoder.DecodeToImages(x0), TestImages.Prompts(2));
        TensorAssert.Close(expected, estimator.Estimate(x0, TestImages.Prompts(2)), atol: 0, what: "step reward");
    }

    [Fact]
    public void Estimate_runs_without_gradient_unless_the_input_requires_it_and_then_matches_central_differences()
    {
        using var scope = NewDisposeScope();
        var counting = new CountingReward(new BrightnessTargetReward(0.3));
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), counting);
        var x0 = Latents(2, 2, 4, 2, 2);
        var prompts = TestImages.Prompts(2);

        Assert.False(estimator.Estimate(x0, prompts).requires_grad);
        Assert.False(counting.LastInputRequiredGrad);

        var analytic = CentralDifferences.Autograd(x => estimator.Estimate(x, prompts).sum(), x0);
        Assert.True(counting.LastInputRequiredGrad);
        var numeric = CentralDifferences.Gradient(x => estimator.Estimate(x, prompts).sum().item<double>(), x0);
        TensorAssert.Close(numeric, analytic, atol: 1e-8, rtol: 1e-5, what: "step reward gradient");
    }

    [Fact]
    public void Candidates_are_decoded_and_scored_in_one_call_each_and_match_one_by_one_estimates()
    {
        using var scope = NewDisposeScope();
        var decoder = new SquashedLinearDecoder();
        var counting = new CountingReward(new ColorfulnessReward());
        var estimator = new StepRewardEstimator(decoder, counting);
        var candidates = Latents(3, 3, 2, 4, 3, 3); // K = 3, B = 2
        var prompts = TestImages.Prompts(2);

        var rewards = estimator.EstimateCandidates(candidates, prompts);

        Assert.Equal(new long[] { 3, 2 }, rewards.shape);
        Assert.Equal(1, decoder.Calls);
        Assert.Equal(new long[] { 6 }, counting.BatchSizes);
        for (var k = 0; k < 3; k++)
            TensorAssert.Close(estimator.Estimate(candidates[k], prompts), rewards[k], atol: 1e-12, what: $"candidate {k}");
    }

    [Fact]
    public void ScoreCandidates_evaluates_x0_hat_at_the_next_step_with_one_batched_noise_prediction()
    {
        using var scope = NewDisposeScope();
        var sampler = new GaussianDataSampler(steps: 10);
        var decoder = new SquashedLinearDecoder();
        var counting = new CountingReward(new ColorfulnessReward());
        var estimator = new StepRewardEstimator(decoder, counting);
        var condition = Condition(2) with { NegativeEmbeddings = zeros([2, 3, 5], dtype: ScalarType.Float64), GuidanceScale = 5.0 };
        var candidates = Latents(4, 2, 2, 4, 3, 3);
        const int stepIndex = 3;

        var result = estimator.ScoreCandidates(sampler, candidates, stepIndex, condition);

        Assert.Equal(new long[] { 4 }, sampler.NoiseCallBatchSizes);
        Assert.Equal(new long[] { 4 }, counting.BatchSizes);
        Assert.Equal(stepIndex + 1, result.NextStepIndex);
        Assert.False(result.Rewards.requires_grad);
        for (var k = 0; k < 2; k++)
        {
            var eps = sampler.PredictNoise(candidates[k], stepIndex + 1, condition);
            var x0 = sampler.PredictOriginal(candidates[k], stepIndex + 1, eps);
            TensorAssert.Close(eps, result.NoisePredictions![k], atol: 1e-12, what: "noise prediction");
            TensorAssert.Close(x0, result.PredictedOriginals[k], atol: 1e-12, what: "x0_hat");
            TensorAssert.Close(estimator.Estimate(x0, condition.Prompts), result.Rewards[k], atol: 1e-12, what: "reward");
        }
    }

    [Fact]
    public void At_the_last_step_the_candidates_are_x0_and_no_noise_prediction_runs()
    {
        using var scope = NewDisposeScope();
        var sampler = new GaussianDataSampler(steps: 5);
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new SaturationReward());
        var candidates = Latents(5, 2, 3, 4, 2, 2);
        var condition = Condition(3);

        var result = estimator.ScoreCandidates(sampler, candidates, stepIndex: 4, condition);

        Assert.Empty(sampler.NoiseCallBatchSizes);
        Assert.Null(result.NoisePredictions);
        Assert.Null(result.NextStepIndex);
        TensorAssert.Close(estimator.EstimateCandidates(candidates, condition.Prompts), result.Rewards, atol: 1e-12, what: "final rewards");
    }

    [Fact]
    public void RepeatCondition_repeats_prompts_and_embeddings_candidate_major()
    {
        using var scope = NewDisposeScope();
        var condition = Condition(2) with { NegativeEmbeddings = ones([2, 3, 5], dtype: ScalarType.Float64) };
        var repeated = StepRewardEstimator.RepeatCondition(condition, 3);
        Assert.Equal(["prompt 0", "prompt 1", "prompt 0", "prompt 1", "prompt 0", "prompt 1"], repeated.Prompts);
        Assert.Equal(new long[] { 6, 3, 5 }, repeated.PromptEmbeddings.shape);
        Assert.Equal(new long[] { 6, 3, 5 }, repeated.NegativeEmbeddings!.shape);
        TensorAssert.Close(condition.PromptEmbeddings[1], repeated.PromptEmbeddings[5], atol: 0, what: "embedding");
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        var sampler = new GaussianDataSampler(steps: 5);
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new ColorfulnessReward());
        var x0 = Latents(1, 2, 4, 2, 2);

        Assert.Equal("prompts", Assert.Throws<ArgumentException>(() => estimator.Estimate(x0, TestImages.Prompts(3))).ParamName);
        Assert.Equal("prompts", Assert.Throws<ArgumentException>(() => estimator.EstimateCandidates(x0.unsqueeze(0), TestImages.Prompts(1))).ParamName);
        Assert.Equal("candidatePredictedOriginals", Assert.Throws<ArgumentException>(() => estimator.EstimateCandidates(x0[0, 0], TestImages.Prompts(2))).ParamName);
        Assert.Equal("predictedOriginal", Assert.Throws<ArgumentException>(() => estimator.Estimate(zeros([2, 4, 2, 2], dtype: ScalarType.Int64), TestImages.Prompts(2))).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.ScoreCandidates(sampler, x0.unsqueeze(0), 5, Condition(2)));
        Assert.Equal("condition", Assert.Throws<ArgumentException>(() => estimator.ScoreCandidates(sampler, x0.unsqueeze(0), 1, Condition(3))).ParamName);
    }

    [Fact]
    public void A_non_finite_step_reward_is_reported()
    {
        using var scope = NewDisposeScope();
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new FixedValueReward(double.PositiveInfinity));
        Assert.Throws<NonFiniteValueException>(() => estimator.Estimate(Latents(1, 2, 4, 2, 2), TestImages.Prompts(2)));
    }

    [Fact]
    public void Repeated_candidate_scoring_leaves_no_live_tensors_behind()
    {
        var sampler = new GaussianDataSampler(steps: 10);
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new RewardEnsembleOfTwo().Ensemble);
        using var candidates = Latents(4, 2, 2, 4, 3, 3);
        var condition = Condition(2);
        void ScoreOnce()
        {
            using var scope = NewDisposeScope();
            estimator.ScoreCandidates(sampler, candidates, 3, condition);
        }
        ScoreOnce();
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 5; i++)
            ScoreOnce();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private sealed class RewardEnsembleOfTwo
    {
        public Rewards.Ensemble.RewardEnsemble Ensemble { get; } = new([
            new Rewards.Ensemble.RewardEnsembleMember(new ColorfulnessReward(), 1.0, new Rewards.Ensemble.RunningRewardNormalizer()),
            new Rewards.Ensemble.RewardEnsembleMember(new SaturationReward(), 0.5)]);
    }
}
