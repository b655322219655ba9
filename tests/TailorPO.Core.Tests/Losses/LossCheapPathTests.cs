using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Core.Losses;
using TailorPO.Core.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Core.Tests.Losses;

/// <summary>
/// The loss's cheap path (issue 13): its finiteness checks are one fused check, its statistics are computed only
/// when read, and neither changes what is computed or which input an error names.
/// </summary>
public class LossCheapPathTests
{
    [Fact]
    public void A_loss_records_one_deferred_check_for_its_inputs_and_its_value()
    {
        using var scope = NewDisposeScope();
        using var checks = DeferredFiniteChecks.Begin();
        new TailorPOLoss().Compute(new PreferencePair(tensor(new[] { 0.1f, -0.2f }), tensor(new[] { 0.0f, 0.3f })));
        Assert.Equal(1, checks.Count);
        new TailorPOLoss().ComputeFromCandidates(tensor(new[] { 0.1f }), tensor(new[] { 0.0f }), tensor(new[] { 1f }), tensor(new[] { 0f }));
        Assert.Equal(2, checks.Count);
        checks.ThrowIfAnyNonFinite(); // all finite
    }

    [Fact]
    public void A_deferred_non_finite_input_is_reported_at_the_read_with_every_part_of_the_fused_check_named()
    {
        using var scope = NewDisposeScope();
        using var checks = DeferredFiniteChecks.Begin();
        new DpoLoss().Compute(new PreferencePair(tensor(new[] { float.NaN }), tensor(new[] { 0f })));
        var error = Assert.Throws<NonFiniteValueException>(checks.ThrowIfAnyNonFinite);
        Assert.Contains("pair.PreferredLogRatio", error.Message);
        Assert.Contains("pair.DispreferredLogRatio", error.Message);
        Assert.Contains("dpo loss", error.Message);
    }

    [Fact]
    public void An_infinite_log_ratio_hidden_by_the_clamp_is_still_refused_and_named()
    {
        using var scope = NewDisposeScope();
        // The clamp maps +inf to log(1 + eps): the loss alone would be finite.
        var error = Assert.Throws<NonFiniteValueException>(() =>
            new D3poLoss(clampEpsilon: 0.1).Compute(new PreferencePair(tensor(new[] { 0f }), tensor(new[] { float.PositiveInfinity }))));
        Assert.Contains("pair.DispreferredLogRatio", error.Message);
    }

    [Fact]
    public void A_screen_that_overflows_while_every_part_is_finite_does_not_throw()
    {
        using var scope = NewDisposeScope();
        // The cheap screen sums the logits beta (h_w - h_l): four finite 1e38 logits sum to +inf in float32, but the log-ratios
        // and the loss (softplus(-1e38) = 0) are finite, so the parts decide and nothing is refused.
        var result = new TailorPOLoss(beta: 1.0).Compute(new PreferencePair(full(4, 1e38f), zeros(4)));
        Assert.Equal(0.0, result.Diagnostics.Loss);
        // A real +inf log-ratio, which the loss alone would hide (margin +inf gives loss 0), is still refused and named.
        var error = Assert.Throws<NonFiniteValueException>(() => new TailorPOLoss().Compute(new PreferencePair(tensor(new[] { float.PositiveInfinity }), zeros(1))));
        Assert.Contains("pair.PreferredLogRatio", error.Message);
    }

    [Fact]
    public void Statistics_read_after_the_inputs_were_disposed_fail_with_a_clear_message()
    {
        PairwiseLossResult result;
        using (var scope = NewDisposeScope())
        {
            result = new TailorPOLoss().Compute(new PreferencePair(tensor(new[] { 0.1f }), tensor(new[] { 0.0f })));
        }
        var error = Assert.Throws<ObjectDisposedException>(() => result.Statistics.Values);
        Assert.Contains("read them while they are alive", error.Message);
    }

    [Fact]
    public void Statistics_read_late_equal_statistics_read_at_once_and_the_closed_form()
    {
        using var scope = NewDisposeScope();
        var h0 = tensor(new[] { 0.3, -0.1, 0.2, 0.0 });
        var h1 = tensor(new[] { 0.1, 0.2, 0.2, -0.4 });
        var r0 = tensor(new[] { 1.0, 0.0, 2.0, 5.0 });
        var r1 = tensor(new[] { 0.0, 1.0, 2.0, 3.0 }); // pair 2 is a tie
        var loss = new TailorPOLoss(beta: 2.0);

        var early = loss.ComputeFromCandidates(h0, h1, r0, r1).Diagnostics;
        var late = loss.ComputeFromCandidates(h0, h1, r0, r1);
        var (margin0, margin1, margin3) = (0.3 - 0.1, 0.2 - -0.1, 0.0 - -0.4); // h_w - h_l of the decided pairs
        Assert.Equal(early, late.Diagnostics);
        Assert.Equal((Softplus(-2 * margin0) + Softplus(-2 * margin1) + Math.Log(2) + Softplus(-2 * margin3)) / 4, early.Loss, 12); // -log sigma(x) = softplus(-x); a tie adds log 2
        Assert.Equal(1.0, early.ImplicitAccuracy);
        Assert.Equal(0.25, early.TiedFraction);
        Assert.Equal((0.3 + 0.2 + 0.0) / 3, early.MeanPreferredLogRatio, 12);
    }

    [Fact]
    public void The_log_ratio_checks_sigma_and_finiteness_together_and_still_names_a_zero_sigma()
    {
        using var scope = NewDisposeScope();
        var mean = randn([2, 4, 3, 3]);
        var sample = mean + 0.1 * randn([2, 4, 3, 3]);
        var reference = mean + 0.01;
        var error = Assert.Throws<ArgumentException>(() => DdimStepMath.LogRatio(sample, mean, reference, tensor(new[] { 0.5f, 0f })));
        Assert.Equal("sigma", error.ParamName);
        var h = DdimStepMath.LogRatio(sample, mean, reference, tensor(new[] { 0.5f, 0.2f }));
        Assert.True(h.isfinite().all().item<bool>());
        // In a deferred batch a zero sigma still cannot pass: the log-ratio it gives is not finite.
        using var checks = DeferredFiniteChecks.Begin();
        DdimStepMath.LogRatio(sample, mean, reference, tensor(new[] { 0.5f, 0f }));
        Assert.Throws<NonFiniteValueException>(checks.ThrowIfAnyNonFinite);
    }

    private static double Softplus(double x) => Math.Log(1 + Math.Exp(x));
}
