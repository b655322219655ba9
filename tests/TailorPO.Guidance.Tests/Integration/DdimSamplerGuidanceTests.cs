using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities;
using TailorPO.TestUtilities.Doubles;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Integration;

/// <summary>The refiner on Core's real <see cref="DdimSampler"/> (SD v1.5 schedule, 20 steps, eta 1, CFG 5).</summary>
public class DdimSamplerGuidanceTests(ITestOutputHelper output)
{
    private static DdimSampler Sampler(TanhNoisePredictor predictor) =>
        new(predictor, NoiseSchedule.StableDiffusionV15(), new SamplingOptions { InferenceSteps = 20, Eta = 1.0 });

    private static DiffusionCondition Condition(int batch, ScalarType dtype)
    {
        using var generator = new Generator(5);
        var embeddings = (randn([batch, 3, 8], dtype: ScalarType.Float64, generator: generator) * 0.3).to(dtype);
        return new DiffusionCondition(Enumerable.Range(0, batch).Select(i => $"p{i}").ToArray(), embeddings, zeros_like(embeddings), 5.0);
    }

    [Fact]
    public void Eq14_step_through_the_ddim_sampler_matches_central_differences()
    {
        using var scope = NewDisposeScope();
        var predictor = new TanhNoisePredictor();
        var sampler = Sampler(predictor);
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new ColorfulnessReward());
        const double eta = 0.2;
        var refiner = new RewardGradientRefiner(estimator, new ConstantGuidanceSchedule(eta), requireImprovement: false);
        var condition = Condition(2, ScalarType.Float64);
        using var generator = new Generator(9);
        var xw = randn([2, 4, 3, 3], dtype: ScalarType.Float64, generator: generator);
        const int stepIndex = 12;

        var report = refiner.Refine(sampler, xw, stepIndex, condition).Report!;

        Tensor StepReward(Tensor x) =>
            estimator.Estimate(sampler.PredictOriginal(x, stepIndex + 1, sampler.PredictNoise(x, stepIndex + 1, condition)), condition.Prompts);
        var rHigh = (StepReward(xw) + 0.5).detach();
        var numeric = CentralDifferences.Gradient(x => (rHigh - StepReward(x)).square().sum().item<double>(), xw);
        TensorAssert.Close(numeric, (xw - report.Proposal) / eta, atol: 1e-7, rtol: 1e-5, what: "Eq. 14 gradient via DdimSampler");
    }

    [Fact]
    public void On_the_ddim_sampler_guided_steps_raise_and_opposite_steps_lower_the_step_reward()
    {
        using var scope = NewDisposeScope();
        const int batch = 10;
        var predictor = new TanhNoisePredictor();
        var sampler = Sampler(predictor);
        var estimator = new StepRewardEstimator(new SquashedLinearDecoder(), new BrightnessTargetReward(0.6));
        var refiner = new RewardGradientRefiner(estimator, new CosineGuidanceSchedule(), computeOpposite: true);
        var condition = Condition(batch, ScalarType.Float32);
        int samples = 0, raised = 0, lowered = 0, accepted = 0;
        foreach (var stepIndex in new[] { 0, 4, 8, 12, 16, 19 })
        {
            using var generator = new Generator((ulong)(50 + stepIndex));
            var xt = randn([batch, 4, 4, 4], generator: generator);
            var step = sampler.Step(xt, stepIndex, condition, candidates: 2, generator: generator);
            var ranked = estimator.ScoreCandidates(sampler, step.Candidates, stepIndex, condition);
            var preferred = where(ranked.Rewards[0].ge(ranked.Rewards[1]).reshape(batch, 1, 1, 1), step.Candidates[0], step.Candidates[1]);
            var report = refiner.Refine(sampler, preferred, stepIndex, condition).Report!;
            samples += batch;
            raised += (int)report.ProposalReward.gt(report.PreferredReward).sum().item<long>();
            lowered += (int)report.OppositeReward!.lt(report.PreferredReward).sum().item<long>();
            accepted += report.AcceptedCount;
        }
        output.WriteLine($"DdimSampler, brightness: {samples} samples, x^+ raised {(double)raised / samples:P1}, x^- lowered {(double)lowered / samples:P1}, accepted {(double)accepted / samples:P1}");
        Assert.Equal(raised, accepted);
        Assert.True(raised >= 0.8 * samples, $"raised {raised} of {samples}");
        Assert.True(lowered >= 0.8 * samples, $"lowered {lowered} of {samples}");
    }
}
