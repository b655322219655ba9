using TailorPO.Core.Abstractions;
using TailorPO.Guidance.Refiners;
using TailorPO.Guidance.Schedules;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Tests.Refiners;

/// <summary>
/// A gradient that overflows or is NaN makes a non-finite x^+: the acceptance check rejects it (x^w is kept), counts
/// it, and the step goes on; the other elements are refined exactly as with a well-behaved reward.
/// </summary>
public class NonFiniteProposalTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_non_finite_proposal_is_rejected_counted_and_does_not_throw(bool requireImprovement)
    {
        using var scope = NewDisposeScope();
        const int stepIndex = 6;
        var poisoned = new SingularGradientReward(poisonedElement: 1);
        var setup = new GuidanceSetup(poisoned, steps: 10, batch: 3);
        var xw = setup.Latents(seed: 5, batch: 3);
        var schedule = new ConstantGuidanceSchedule(0.15);

        var result = new RewardGradientRefiner(setup.Estimator, schedule, requireImprovement: requireImprovement, computeOpposite: true)
            .Refine(setup.Sampler, xw, stepIndex, setup.Condition);

        var report = result.Report!;
        Assert.False(report.Proposal[1].isfinite().all().item<bool>()); // the gradient did make a non-finite x^+
        Assert.Equal([false, true, false], report.NonFinite!.data<bool>().ToArray());
        Assert.Equal(1, report.NonFiniteCount);
        Assert.False(report.Accepted[1].item<bool>());
        Assert.True(double.IsNaN(report.ProposalReward[1].item<double>()));
        TensorAssert.Close(xw[1], result.Sample[1], atol: 0, what: "x^w kept for the non-finite x^+");
        Assert.True(result.Sample.isfinite().all().item<bool>());

        // The other elements: as refined under the same reward without the singular term (the same values and gradients).
        var plain = new GuidanceSetup(new SingularGradientReward(poisonedElement: -1), steps: 10, batch: 3);
        var reference = new RewardGradientRefiner(plain.Estimator, schedule, requireImprovement: requireImprovement, computeOpposite: true)
            .Refine(plain.Sampler, xw, stepIndex, plain.Condition);
        foreach (var i in new[] { 0, 2 })
        {
            TensorAssert.Close(reference.Sample[i], result.Sample[i], atol: 0, what: $"element {i}");
            Assert.Equal(reference.Report!.Accepted[i].item<bool>(), report.Accepted[i].item<bool>());
        }
        Assert.Equal(0, reference.Report!.NonFiniteCount);
    }

    /// <summary>
    /// The mean image value, plus for one element sqrt(m - m.detach()): zero in value, an infinite derivative, so that
    /// element's guidance gradient is not finite while its reward is.
    /// </summary>
    private sealed class SingularGradientReward(int poisonedElement) : IRewardModel
    {
        public string Name => "singular-gradient";

        public bool IsDifferentiable => true;

        public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
        {
            var mean = images.flatten(1).mean([1]);
            if (poisonedElement < 0 || images.shape[0] <= poisonedElement) return mean;
            // Only the poisoned element's graph holds the sqrt (a where() would send 0 * inf = NaN to the others too).
            var elements = mean.unbind(0).ToArray();
            var m = elements[poisonedElement];
            elements[poisonedElement] = m + (m - m.detach()).sqrt();
            return stack(elements);
        }
    }
}
