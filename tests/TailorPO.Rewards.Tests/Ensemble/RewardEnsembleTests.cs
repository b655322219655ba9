using TailorPO.Core.Errors;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.Tests.Analytic;
using TailorPO.TestUtilities;
using TailorPO.TestUtilities.Doubles;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Ensemble;

public class RewardEnsembleTests
{
    [Fact]
    public void Total_is_the_weighted_sum_of_normalised_members_and_the_breakdown_reports_both()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 2, b: 3);
        var prompts = TestImages.Prompts(3);
        var colour = new ColorfulnessReward();
        var bright = new BrightnessTargetReward(0.4);
        var ensemble = new RewardEnsemble([
            new RewardEnsembleMember(colour, 2.0, new FixedRewardNormalizer(0.1, 0.05)),
            new RewardEnsembleMember(bright, -0.5),
        ]);

        var result = ensemble.ScoreWithBreakdown(images, prompts);

        var rawColour = colour.Score(images, prompts).data<double>().ToArray();
        var rawBright = bright.Score(images, prompts).data<double>().ToArray();
        var expected = rawColour.Zip(rawBright, (c, b) => 2.0 * (c - 0.1) / 0.05 - 0.5 * b).ToArray();
        Assert.Equal(expected, result.Total.data<double>().ToArray(), new ToleranceComparer(1e-12));
        Assert.Equal(expected, result.Breakdown.Total, new ToleranceComparer(1e-12));
        Assert.Equal(["colorfulness", "brightness"], result.Breakdown.Members.Select(m => m.Name));
        Assert.Equal(rawColour, result.Breakdown.Members[0].Raw, new ToleranceComparer(1e-12));
        Assert.Equal(rawColour.Select(c => (c - 0.1) / 0.05), result.Breakdown.Members[0].Normalized, new ToleranceComparer(1e-12));
        Assert.Equal(rawBright, result.Breakdown.Members[1].Normalized, new ToleranceComparer(1e-12));
        Assert.Same(result.Breakdown, ensemble.LastBreakdown);
    }

    [Fact]
    public void Ensemble_gradient_matches_central_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        var ensemble = new RewardEnsemble([
            new RewardEnsembleMember(new ColorfulnessReward(), 1.5, new FixedRewardNormalizer(0.2, 0.1)),
            new RewardEnsembleMember(new SaturationReward(), 0.7),
            new RewardEnsembleMember(new ContrastTargetReward(0.1), 3.0, new RunningRewardNormalizer { IsFrozen = true }),
        ]);
        var images = TestImages.Random(seed: 9);
        var prompts = TestImages.Prompts(2);
        var analytic = CentralDifferences.Autograd(x => ensemble.Score(x, prompts).sum(), images);
        var numeric = CentralDifferences.Gradient(x => ensemble.Score(x, prompts).sum().item<double>(), images);
        TensorAssert.Close(numeric, analytic, atol: 1e-7, rtol: 1e-5, what: "ensemble gradient");
    }

    [Fact]
    public void Ensemble_is_differentiable_iff_every_member_with_non_zero_weight_is()
    {
        var differentiable = new RewardEnsemble([
            new RewardEnsembleMember(new ColorfulnessReward()),
            new RewardEnsembleMember(new BrightPixelFractionReward(), 0.0),
        ]);
        var notDifferentiable = new RewardEnsemble([
            new RewardEnsembleMember(new ColorfulnessReward()),
            new RewardEnsembleMember(new BrightPixelFractionReward(), 0.1),
        ]);
        Assert.True(differentiable.IsDifferentiable);
        Assert.False(notDifferentiable.IsDifferentiable);
    }

    [Fact]
    public void Zero_weight_members_appear_in_the_breakdown_but_not_in_the_total_or_its_gradient()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 4);
        var prompts = TestImages.Prompts(2);
        var colour = new ColorfulnessReward();
        var ensemble = new RewardEnsemble([new RewardEnsembleMember(colour), new RewardEnsembleMember(new BrightnessTargetReward(), 0.0)]);
        var withZero = CentralDifferences.Autograd(x => ensemble.Score(x, prompts).sum(), images);
        var alone = CentralDifferences.Autograd(x => colour.Score(x, prompts).sum(), images);
        TensorAssert.Close(alone, withZero, atol: 1e-15, what: "gradient");
        Assert.Equal(2, ensemble.LastBreakdown!.Members.Count);
        Assert.All(ensemble.LastBreakdown.Members[1].Raw, v => Assert.True(v < 0));
    }

    [Fact]
    public void A_member_returning_NaN_raises_a_non_finite_error_naming_it()
    {
        using var scope = NewDisposeScope();
        var ensemble = new RewardEnsemble([new RewardEnsembleMember(new ColorfulnessReward()), new RewardEnsembleMember(new FixedValueReward(double.NaN))]);
        var error = Assert.Throws<NonFiniteValueException>(() => ensemble.Score(TestImages.Random(seed: 1), TestImages.Prompts(2)));
        Assert.Contains("fixed-value", error.Message);
    }

    [Fact]
    public void Invalid_ensembles_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new RewardEnsemble([]));
        Assert.Throws<ArgumentException>(() => new RewardEnsemble([new RewardEnsembleMember(new ColorfulnessReward(), 0.0)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RewardEnsembleMember(new ColorfulnessReward(), double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedRewardNormalizer(0, 0));
    }

    [Fact]
    public void Ensemble_validates_images_and_prompts_like_a_single_reward()
    {
        using var scope = NewDisposeScope();
        var ensemble = new RewardEnsemble([new RewardEnsembleMember(new ColorfulnessReward())]);
        Assert.Throws<ArgumentException>(() => ensemble.Score(TestImages.Random(seed: 1), TestImages.Prompts(3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ensemble.Score(TestImages.Random(seed: 1) * 2, TestImages.Prompts(2)));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
