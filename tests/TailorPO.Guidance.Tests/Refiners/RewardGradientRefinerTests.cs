using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Ensemble;
using TailorPO.TestUtilities;
using TailorPO.TestUtilities.Doubles;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Refiners;

public class RewardGradientRefinerTests
{
    [Theory]
    [InlineData(4, false)]
    [InlineData(4, true)]
    [InlineData(9, false)]
    public void Proposal_and_opposite_are_eta_steps_along_the_central_difference_gradient_of_eq14(int stepIndex, bool cfg)
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new ColorfulnessReward(), steps: 10, cfg: cfg);
        const double eta = 0.15, delta = 0.5;
        var refiner = new RewardGradientRefiner(setup.Estimator, new ConstantGuidanceSchedule(eta), delta, requireImprovement: false, computeOpposite: true);
        var xw = setup.Latents(seed: 3);

        var result = refiner.Refine(setup.Sampler, xw, stepIndex, setup.Condition);

        // Independent reference: f(x) = sum_b (r_high_b - r_t(c, x)_b)^2 with r_high = r_t(c, x^w) + delta fixed.
        var rHigh = (setup.StepReward(xw, stepIndex) + delta).detach();
        var numeric = CentralDifferences.Gradient(x => (rHigh - setup.StepReward(x, stepIndex)).square().sum().item<double>(), xw);
        var report = result.Report!;
        TensorAssert.Close(numeric, (xw - report.Proposal) / eta, atol: 1e-7, rtol: 1e-5, what: "x^+ step / eta");
        TensorAssert.Close(numeric, (report.Opposite! - xw) / eta, atol: 1e-7, rtol: 1e-5, what: "x^- step / eta");
        Assert.True(numeric.abs().max().item<double>() > 1e-4, "the guidance gradient should not vanish here");

        // Eq. 14 at x^w equals x^w + 2 eta delta grad r_t.
        var rewardGradient = CentralDifferences.Gradient(x => setup.StepReward(x, stepIndex).sum().item<double>(), xw);
        TensorAssert.Close(xw + 2 * eta * delta * rewardGradient, report.Proposal, atol: 1e-8, rtol: 1e-5, what: "x^+");
        Assert.Equal(eta, report.Eta);
        Assert.Equal(delta, report.Delta);
    }

    [Fact]
    public void The_acceptance_check_keeps_x_plus_only_where_it_raises_the_step_reward()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new BrightnessTargetReward(0.5), steps: 10, batch: 6);
        var xw = setup.Latents(seed: 11, batch: 6);
        const int stepIndex = 6;

        // A moderate step improves, an absurd one overshoots past the target.
        var moderate = new RewardGradientRefiner(setup.Estimator, new ConstantGuidanceSchedule(0.15)).Refine(setup.Sampler, xw, stepIndex, setup.Condition);
        var absurd = new RewardGradientRefiner(setup.Estimator, new ConstantGuidanceSchedule(1e5)).Refine(setup.Sampler, xw, stepIndex, setup.Condition);
        var forced = new RewardGradientRefiner(setup.Estimator, new ConstantGuidanceSchedule(1e5), requireImprovement: false).Refine(setup.Sampler, xw, stepIndex, setup.Condition);

        foreach (var result in new[] { moderate, absurd })
        {
            var report = result.Report!;
            var improved = report.ProposalReward.gt(report.PreferredReward);
            Assert.True(improved.eq(report.Accepted).all().item<bool>());
            Assert.Equal(improved.sum().item<long>(), report.AcceptedCount);
            var mask = report.Accepted.reshape(6, 1, 1, 1);
            TensorAssert.Close(where(mask, report.Proposal, xw), result.Sample, atol: 0, what: "refined sample");
            // Independent rewards of x^w and x^+.
            TensorAssert.Close(setup.StepReward(xw, stepIndex), report.PreferredReward, atol: 1e-10, what: "r_t(x^w)");
            TensorAssert.Close(setup.StepReward(report.Proposal, stepIndex), report.ProposalReward, atol: 1e-10, what: "r_t(x^+)");
        }
        Assert.Equal(6, moderate.Report!.AcceptedCount);
        TensorAssert.Close(moderate.Report.Proposal, moderate.Sample, atol: 0, what: "all accepted");
        Assert.Equal(0, absurd.Report!.AcceptedCount);
        TensorAssert.Close(xw, absurd.Sample, atol: 0, what: "all rejected");
        Assert.Equal(6, forced.Report!.AcceptedCount);
        TensorAssert.Close(forced.Report.Proposal, forced.Sample, atol: 0, what: "forced");
    }

    [Fact]
    public void The_returned_noise_prediction_is_the_refined_samples_eps_at_the_next_step()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new SaturationReward(), steps: 10, cfg: true);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule());
        var result = refiner.Refine(setup.Sampler, setup.Latents(seed: 5), 2, setup.Condition);
        var expected = setup.Sampler.PredictNoise(result.Sample, 3, setup.Condition);
        TensorAssert.Close(expected, result.NextNoisePrediction!, atol: 1e-12, what: "next eps");
        Assert.Equal(new CosineGuidanceSchedule().EtaAt(2, 10), result.Report!.Eta);
    }

    [Fact]
    public void The_acceptance_check_scores_x_w_x_plus_and_x_minus_in_one_batch()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new SaturationReward(), steps: 10, batch: 2);
        var counting = new CountingReward(new SaturationReward());
        var estimator = new Rewards.StepRewards.StepRewardEstimator(setup.Decoder, counting);
        var refiner = new RewardGradientRefiner(estimator, new CosineGuidanceSchedule(), computeOpposite: true);
        refiner.Refine(setup.Sampler, setup.Latents(seed: 5), 2, setup.Condition);
        Assert.Equal(new long[] { 2, 6 }, setup.Sampler.NoiseCallBatchSizes);
        Assert.Equal(new long[] { 2, 6 }, counting.BatchSizes);
    }

    [Fact]
    public void At_the_last_step_the_gradient_is_taken_on_x0_directly_without_noise_prediction()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new ContrastTargetReward(0.3), steps: 5);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule());
        var result = refiner.Refine(setup.Sampler, setup.Latents(seed: 2), 4, setup.Condition);
        Assert.Empty(setup.Sampler.NoiseCallBatchSizes);
        Assert.Null(result.NextNoisePrediction);
        Assert.Equal(0.2, result.Report!.Eta, 1e-15);
    }

    [Fact]
    public void Guidance_does_not_accumulate_gradients_in_model_parameters()
    {
        using var scope = NewDisposeScope();
        var probe = new LinearProbeReward();
        var setup = new GuidanceSetup(probe, steps: 10);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule());
        var result = refiner.Refine(setup.Sampler, setup.Latents(seed: 2), 3, setup.Condition);
        Assert.Null(probe.Weight.grad);
        Assert.False(result.Sample.requires_grad);
        Assert.False(result.Report!.ProposalReward.requires_grad);
    }

    [Fact]
    public void A_non_differentiable_reward_is_rejected_with_its_name()
    {
        var setup = new GuidanceSetup(new BrightPixelFractionReward());
        var error = Assert.Throws<NonDifferentiableRewardException>(() => new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule()));
        Assert.Contains("bright-fraction", error.Message);
        Assert.Contains("NoOpRefiner", error.Message);

        var ensemble = new RewardEnsemble([new RewardEnsembleMember(new ColorfulnessReward()), new RewardEnsembleMember(new BrightPixelFractionReward(), 0.2)]);
        Assert.Throws<NonDifferentiableRewardException>(() => new RewardGradientRefiner(new GuidanceSetup(ensemble).Estimator, new CosineGuidanceSchedule()));
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_clear_messages()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new ColorfulnessReward(), steps: 10, batch: 2);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule());
        var xw = setup.Latents(seed: 1, batch: 2);

        Assert.Equal("stepIndex", Assert.Throws<ArgumentOutOfRangeException>(() => refiner.Refine(setup.Sampler, xw, 10, setup.Condition)).ParamName);
        Assert.Equal("stepIndex", Assert.Throws<ArgumentOutOfRangeException>(() => refiner.Refine(setup.Sampler, xw, -1, setup.Condition)).ParamName);
        var mismatch = Assert.Throws<ArgumentException>(() => refiner.Refine(setup.Sampler, setup.Latents(seed: 1, batch: 3), 1, setup.Condition));
        Assert.Equal("condition", mismatch.ParamName);
        Assert.Contains("3 sample(s)", mismatch.Message);
        Assert.Equal("preferred", Assert.Throws<ArgumentException>(() => refiner.Refine(setup.Sampler, xw.to(ScalarType.Int32), 1, setup.Condition)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule(), delta: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule(), delta: double.NaN));
    }

    [Fact]
    public void The_no_op_refiner_returns_the_preferred_sample_unchanged()
    {
        using var scope = NewDisposeScope();
        var setup = new GuidanceSetup(new ColorfulnessReward());
        var xw = setup.Latents(seed: 1);
        var result = NoOpRefiner.Instance.Refine(setup.Sampler, xw, 3, setup.Condition);
        Assert.False(NoOpRefiner.Instance.IsGuiding);
        Assert.Null(result.Report);
        Assert.Null(result.NextNoisePrediction);
        TensorAssert.Close(xw, result.Sample, atol: 0, what: "sample");
        Assert.Empty(setup.Sampler.NoiseCallBatchSizes);
    }
}

public class RewardGradientRefinerLifetimeTests
{
    [Fact]
    public void Repeated_refinements_leave_no_live_tensors_behind()
    {
        var setup = new GuidanceSetup(new ColorfulnessReward(), steps: 10, cfg: true);
        var refiner = new RewardGradientRefiner(setup.Estimator, new CosineGuidanceSchedule(), computeOpposite: true);
        using var xw = setup.Latents(seed: 4);
        void RefineOnce()
        {
            using var scope = NewDisposeScope();
            refiner.Refine(setup.Sampler, xw, 3, setup.Condition);
        }
        RefineOnce();
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 5; i++)
            RefineOnce();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
