using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Losses;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Losses;

/// <summary>Every loss against values computed by hand from its formula (float64, System.Math).</summary>
public class LossClosedFormTests
{
    private static double SoftplusNeg(double x) => Math.Log(1 + Math.Exp(-x)); // -log sigma(x)

    private static PreferencePair Pair(double[] w, double[] l) => new(tensor(w), tensor(l));

    [Fact]
    public void Dpo_is_the_mean_negative_log_sigmoid_of_beta_times_the_margin()
    {
        using var scope = NewDisposeScope();
        double[] w = [1.0, -0.5, 2.0], l = [0.0, 0.5, 2.5];
        var result = new DpoLoss(beta: 0.1).Compute(Pair(w, l));
        var expected = w.Zip(l, (a, b) => SoftplusNeg(0.1 * (a - b))).Average();
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(expected, result.Diagnostics.Loss, 12);
        Assert.Equal(1.0 / 3, result.Diagnostics.ImplicitAccuracy, 12);
        Assert.Equal(w.Average(), result.Diagnostics.MeanPreferredLogRatio, 12);
        Assert.Equal(l.Average(), result.Diagnostics.MeanDispreferredLogRatio, 12);
        Assert.Equal(0, result.Diagnostics.ClampedFraction);
        Assert.Equal("dpo", new DpoLoss().Name);
    }

    [Fact]
    public void D3po_clamps_each_ratio_to_one_plus_minus_eps_before_the_logistic_loss()
    {
        using var scope = NewDisposeScope();
        double[] w = [0.5, 0.01, -0.3], l = [-0.02, 0.03, 0.2];
        var result = new D3poLoss(beta: 0.1, clampEpsilon: 0.1).Compute(Pair(w, l));
        // d3po: ratio = clamp(exp(h), 1 - eps, 1 + eps); loss = -log sigma(beta (log ratio_w - log ratio_l)).
        static double Clamped(double h) => Math.Log(Math.Clamp(Math.Exp(h), 0.9, 1.1));
        var expected = w.Zip(l, (a, b) => SoftplusNeg(0.1 * (Clamped(a) - Clamped(b)))).Average();
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(3.0 / 6, result.Diagnostics.ClampedFraction, 12); // 0.5, -0.3 and 0.2 leave [ln 0.9, ln 1.1]
        Assert.Equal(1.0 / 3, result.Diagnostics.ImplicitAccuracy, 12);
    }

    [Fact]
    public void D3po_clamped_log_ratios_get_no_gradient()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new[] { 0.5, 0.01 }, requires_grad: true);
        var l = tensor(new[] { 0.0, -0.4 }, requires_grad: true);
        new D3poLoss().Compute(new PreferencePair(w, l)).Loss.backward();
        Assert.Equal(0.0, w.grad![0].item<double>());
        Assert.NotEqual(0.0, w.grad![1].item<double>());
        Assert.NotEqual(0.0, l.grad![0].item<double>());
        Assert.Equal(0.0, l.grad![1].item<double>());
    }

    [Fact]
    public void D3po_without_clamp_equals_dpo()
    {
        using var scope = NewDisposeScope();
        var pair = Pair([0.5, -2.0], [0.1, 3.0]);
        Assert.Equal(new DpoLoss(0.3).Compute(pair).Loss.item<double>(), new D3poLoss(0.3, null).Compute(pair).Loss.item<double>(), 14);
    }

    [Fact]
    public void TailorPO_ranked_form_is_eq_10()
    {
        using var scope = NewDisposeScope();
        double[] w = [0.2, -0.1], l = [0.05, 0.3];
        var result = new TailorPOLoss(beta: 0.1).Compute(Pair(w, l));
        Assert.Equal(w.Zip(l, (a, b) => SoftplusNeg(0.1 * (a - b))).Average(), result.Loss.item<double>(), 12);
        Assert.Equal("tailorpo", new TailorPOLoss().Name);
    }

    [Fact]
    public void TailorPO_indicator_form_ranks_by_step_reward_and_ties_give_log_two_and_no_gradient()
    {
        using var scope = NewDisposeScope();
        double[] h0 = [0.3, -0.2, 0.7], h1 = [0.1, 0.4, -0.5];
        double[] r0 = [2.0, 1.0, 5.0], r1 = [1.0, 3.0, 5.0];
        var lr0 = tensor(h0, requires_grad: true);
        var lr1 = tensor(h1, requires_grad: true);
        var result = new TailorPOLoss(beta: 0.1).ComputeFromCandidates(lr0, lr1, tensor(r0), tensor(r1));

        // Appendix B: s = +1 (r0 > r1), -1 (r0 < r1); a tie prefers neither: -log sigma(0) = log 2.
        var expected = (SoftplusNeg(0.1 * (0.3 - 0.1)) + SoftplusNeg(-0.1 * (-0.2 - 0.4)) + Math.Log(2)) / 3;
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(1.0 / 3, result.Diagnostics.TiedFraction, 12);
        Assert.Equal(1.0, result.Diagnostics.ImplicitAccuracy, 12); // both decided pairs have h_w > h_l
        Assert.Equal((0.3 + 0.4) / 2, result.Diagnostics.MeanPreferredLogRatio, 12);
        Assert.Equal((0.1 - 0.2) / 2, result.Diagnostics.MeanDispreferredLogRatio, 12);

        result.Loss.backward();
        Assert.Equal(0.0, lr0.grad![2].item<double>());
        Assert.Equal(0.0, lr1.grad![2].item<double>());
    }

    [Fact]
    public void TailorPO_indicator_form_equals_the_ranked_form_when_the_ranking_is_applied_by_hand()
    {
        using var scope = NewDisposeScope();
        var loss = new TailorPOLoss(beta: 0.7);
        var byReward = loss.ComputeFromCandidates(tensor(new[] { 0.3, 0.9 }), tensor(new[] { -0.1, 0.2 }), tensor(new[] { 0.0, 1.0 }), tensor(new[] { 1.0, 0.0 }));
        var ranked = loss.Compute(Pair([-0.1, 0.9], [0.3, 0.2]));
        Assert.Equal(ranked.Loss.item<double>(), byReward.Loss.item<double>(), 14);
    }

    [Fact]
    public void D3po_reward_form_follows_the_d3po_human_prefer_convention()
    {
        using var scope = NewDisposeScope();
        var result = new D3poLoss(0.1, 0.1).ComputeFromRewards(tensor(new[] { 0.05, 0.02 }), tensor(new[] { -0.01, 0.03 }), tensor(new[] { 1.0, 0.0 }), tensor(new[] { 0.0, 1.0 }));
        var expected = (SoftplusNeg(0.1 * (0.05 + 0.01)) + SoftplusNeg(0.1 * (0.03 - 0.02))) / 2;
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(0, result.Diagnostics.TiedFraction);
    }

    [Fact]
    public void Implicit_accuracy_ranks_by_the_unclamped_log_ratios_while_the_clamp_limits_the_loss()
    {
        using var scope = NewDisposeScope();
        // eps 0.1 clamps h to [log 0.9, log 1.1] = [-0.105, 0.095]. Pair 0: both ratios above the region (0.5 > 0.3), so
        // the clamped margin is 0 and the loss is log 2, yet the policy ranks the pair right. Pair 1: h_w < h_l inside.
        var result = new D3poLoss(0.1, 0.1).Compute(new PreferencePair(tensor(new[] { 0.5, 0.01 }), tensor(new[] { 0.3, 0.02 })));
        var expected = (Math.Log(2) + SoftplusNeg(0.1 * (0.01 - 0.02))) / 2;
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(0.5, result.Diagnostics.ImplicitAccuracy, 12);
        Assert.Equal(0.5, result.Diagnostics.ClampedFraction, 12); // 2 of the 4 log-ratios left the region
    }

    [Fact]
    public void Diffusion_dpo_follows_wallace_et_al_from_denoising_errors()
    {
        using var scope = NewDisposeScope();
        double[] lw = [0.10, 0.20], ll = [0.12, 0.18], lwRef = [0.11, 0.19], llRef = [0.11, 0.19];
        var result = new DiffusionDpoLoss(beta: 5000).ComputeFromErrors(tensor(lw), tensor(ll), tensor(lwRef), tensor(llRef));
        // loss = -log sigma(-0.5 beta ((L_w - L_l) - (L_w_ref - L_l_ref)))
        var inside = Enumerable.Range(0, 2).Select(i => -0.5 * 5000 * ((lw[i] - ll[i]) - (lwRef[i] - llRef[i]))).ToArray();
        Assert.Equal(inside.Select(SoftplusNeg).Average(), result.Loss.item<double>(), 10);
        Assert.Equal(inside.Count(v => v > 0) / 2.0, result.Diagnostics.ImplicitAccuracy, 12);
    }

    [Fact]
    public void Denoising_error_is_the_per_sample_mean_square()
    {
        using var scope = NewDisposeScope();
        var predicted = tensor(new[] { 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0 }).reshape(2, 1, 2, 2);
        var target = zeros(2, 1, 2, 2, ScalarType.Float64);
        var error = DiffusionDpoLoss.DenoisingError(predicted, target);
        Assert.Equal(new[] { (1 + 4 + 9 + 16) / 4.0, 0.0 }, error.data<double>().ToArray());
    }

    [Fact]
    public void Ddpo_clip_objective_matches_the_ppo_formula_with_clamped_advantages()
    {
        using var scope = NewDisposeScope();
        double[] logp = [0.00005, 0.01, -0.01, 0.0], old = [0.0, 0.0, 0.0, 0.0], adv = [1.0, 2.0, 7.0, -9.0];
        var result = new DdpoClipObjective(clipRange: 1e-4, advantageClip: 5).Compute(tensor(logp), tensor(old), tensor(adv));
        var expected = Enumerable.Range(0, 4).Select(i =>
        {
            var a = Math.Clamp(adv[i], -5, 5);
            var ratio = Math.Exp(logp[i] - old[i]);
            return Math.Max(-a * ratio, -a * Math.Clamp(ratio, 1 - 1e-4, 1 + 1e-4));
        }).Average();
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal(0.5, result.Diagnostics.ClipFraction, 12);
        Assert.Equal(0.5, result.Diagnostics.AdvantageClippedFraction, 12);
        Assert.Equal(0.5 * logp.Select(v => v * v).Average(), result.Diagnostics.ApproxKL, 14);
        Assert.Equal(expected, result.Diagnostics.Loss, 12);
        Assert.Equal(logp.Select(Math.Exp).Average(), result.Diagnostics.MeanRatio, 12);
        Assert.Equal(new long[] { 5 }, result.Statistics.shape); // on the device until read
    }

    [Fact]
    public void Per_prompt_stat_tracker_uses_batch_statistics_until_a_prompt_has_min_count_rewards()
    {
        var tracker = new PerPromptStatTracker(bufferSize: 3, minCount: 2);
        string[] prompts = ["cat", "dog", "dog"];
        double[] rewards = [1.0, 2.0, 4.0];
        var first = tracker.Update(prompts, rewards);

        // "cat" has 1 < 2 rewards: batch mean 7/3 and population std; "dog" has 2: its own mean 3, std 1.
        var batchMean = 7.0 / 3;
        var batchStd = Math.Sqrt(rewards.Select(r => (r - batchMean) * (r - batchMean)).Average());
        Assert.Equal((1.0 - batchMean) / (batchStd + 1e-6), first[0], 12);
        Assert.Equal((2.0 - 3.0) / (1.0 + 1e-6), first[1], 12);
        Assert.Equal((4.0 - 3.0) / (1.0 + 1e-6), first[2], 12);

        // The buffer keeps the last 3 rewards per prompt: dog = [4, 6, 8] after adding 6 and 8.
        var second = tracker.Update(["dog", "dog"], [6.0, 8.0]);
        var std = Math.Sqrt((4.0 + 0.0 + 4.0) / 3);
        Assert.Equal((6.0 - 6.0) / (std + 1e-6), second[0], 12);
        Assert.Equal((8.0 - 6.0) / (std + 1e-6), second[1], 12);
        Assert.Equal(3, tracker.Statistics()["dog"].Count);

        var restored = new PerPromptStatTracker(3, 2);
        restored.ImportState(tracker.ExportState());
        Assert.Equal(tracker.Update(["dog"], [1.0]), restored.Update(["dog"], [1.0]));
    }

    [Fact]
    public void Float32_inputs_give_float32_losses_with_the_float64_value_and_diagnostics()
    {
        using var scope = NewDisposeScope();
        double[] w = [0.05, -0.02], l = [0.01, 0.04];
        var pair32 = new PreferencePair(tensor(w.Select(v => (float)v).ToArray()), tensor(l.Select(v => (float)v).ToArray()));
        IPairwiseLoss[] losses = [new DpoLoss(), new D3poLoss(), new TailorPOLoss(), new DiffusionDpoLoss(50)];
        foreach (var loss in losses)
        {
            var single = loss.Compute(pair32);
            Assert.Equal(ScalarType.Float32, single.Loss.dtype);
            Assert.Equal(loss.Compute(Pair(w, l)).Diagnostics.Loss, single.Diagnostics.Loss, 6);
        }
        var byReward = new TailorPOLoss().ComputeFromCandidates(pair32.PreferredLogRatio, pair32.DispreferredLogRatio, tensor(new[] { 1f, 0f }), tensor(new[] { 0f, 1f }));
        Assert.Equal(1.0, byReward.Diagnostics.ImplicitAccuracy); // pair 0 prefers x^0 (0.05 > 0.01), pair 1 prefers x^1 (0.04 > -0.02)
        var ddpo = new DdpoClipObjective().Compute(tensor(new[] { 0.01f, 0f }), tensor(new[] { 0f, 0f }), tensor(new[] { 1f, -1f }));
        Assert.Equal(ScalarType.Float32, ddpo.Loss.dtype);
        Assert.Equal(0.5, ddpo.Diagnostics.ClipFraction);
    }

    [Fact]
    public void Non_finite_inputs_raise_NonFiniteValueException_naming_the_input()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<NonFiniteValueException>(() => new DpoLoss().Compute(Pair([double.NaN, 0], [0, 0])));
        Assert.Contains("PreferredLogRatio", e.Message);
        e = Assert.Throws<NonFiniteValueException>(() => new TailorPOLoss().ComputeFromCandidates(tensor(new[] { 0.0 }), tensor(new[] { 0.0 }), tensor(new[] { double.PositiveInfinity }), tensor(new[] { 0.0 })));
        Assert.Contains("stepReward0", e.Message);
        e = Assert.Throws<NonFiniteValueException>(() => new DdpoClipObjective().Compute(tensor(new[] { 0.0 }), tensor(new[] { 0.0 }), tensor(new[] { double.NaN })));
        Assert.Contains("advantages", e.Message);
        Assert.Throws<NonFiniteValueException>(() => new PerPromptStatTracker().Update(["a"], [double.NaN]));
    }

    [Fact]
    public void A_loss_that_overflows_raises_NonFiniteValueException()
    {
        using var scope = NewDisposeScope();
        // beta * margin overflows float32 to -inf, so -log sigma(-inf) = inf.
        var pair = new PreferencePair(tensor(new[] { -3e38f }), tensor(new[] { 3e38f }));
        var e = Assert.Throws<NonFiniteValueException>(() => new DpoLoss(beta: 10).Compute(pair));
        Assert.Contains("dpo loss", e.Message);
    }

    [Fact]
    public void Bad_shapes_dtypes_and_hyper_parameters_are_rejected_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        Assert.Equal("pair.DispreferredLogRatio", Assert.Throws<ArgumentException>(() => new DpoLoss().Compute(Pair([0, 1], [0]))).ParamName);
        Assert.Equal("pair.PreferredLogRatio", Assert.Throws<ArgumentException>(() => new DpoLoss().Compute(new PreferencePair(zeros(2, 2), zeros(2, 2)))).ParamName);
        Assert.Equal("pair.PreferredLogRatio", Assert.Throws<ArgumentException>(() => new DpoLoss().Compute(new PreferencePair(tensor(new long[] { 1 }), tensor(new long[] { 1 })))).ParamName);
        Assert.Equal("stepReward1", Assert.Throws<ArgumentException>(() => new TailorPOLoss().ComputeFromCandidates(zeros(2), zeros(2), zeros(2), zeros(3))).ParamName);
        Assert.Equal("advantages", Assert.Throws<ArgumentException>(() => new DdpoClipObjective().Compute(zeros(2), zeros(2), zeros(3))).ParamName);
        Assert.Equal("targetNoise", Assert.Throws<ArgumentException>(() => DiffusionDpoLoss.DenoisingError(zeros(2, 4), zeros(2, 3))).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => new DpoLoss(0)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => new DiffusionDpoLoss(double.NaN)).ParamName);
        Assert.Equal("clampEpsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new D3poLoss(0.1, 1.0)).ParamName);
        Assert.Equal("clipRange", Assert.Throws<ArgumentOutOfRangeException>(() => new DdpoClipObjective(0)).ParamName);
        Assert.Equal("minCount", Assert.Throws<ArgumentOutOfRangeException>(() => new PerPromptStatTracker(4, 5)).ParamName);
        Assert.Equal("prompts", Assert.Throws<ArgumentException>(() => new PerPromptStatTracker().Update(["a"], [1.0, 2.0])).ParamName);
    }
}
