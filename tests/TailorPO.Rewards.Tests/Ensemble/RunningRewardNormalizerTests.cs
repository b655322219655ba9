using TailorPO.Rewards.Ensemble;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Ensemble;

public class RunningRewardNormalizerTests
{
    [Fact]
    public void Statistics_equal_the_mean_and_population_std_of_every_observed_value()
    {
        using var scope = NewDisposeScope();
        var normalizer = new RunningRewardNormalizer();
        double[][] batches = [[1.0, 4.0], [2.5], [-3.0, 7.0, 0.5]];
        foreach (var batch in batches)
            normalizer.Normalize(tensor(batch));

        var all = batches.SelectMany(b => b).ToArray();
        var mean = all.Average();
        var std = Math.Sqrt(all.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal(all.Length, normalizer.Count);
        Assert.Equal(mean, normalizer.Mean, 1e-12);
        Assert.Equal(std, normalizer.StandardDeviation, 1e-12);
    }

    [Fact]
    public void The_current_batch_is_merged_before_normalising_so_the_first_batch_is_standardised()
    {
        using var scope = NewDisposeScope();
        var normalizer = new RunningRewardNormalizer(epsilon: 1e-12);
        var normalized = normalizer.Normalize(tensor(new[] { 1.0, 3.0 })).data<double>().ToArray();
        Assert.Equal(-1.0, normalized[0], 1e-9);
        Assert.Equal(1.0, normalized[1], 1e-9);
    }

    [Fact]
    public void A_frozen_normaliser_records_nothing_and_a_single_value_uses_std_one()
    {
        using var scope = NewDisposeScope();
        var normalizer = new RunningRewardNormalizer();
        var first = normalizer.Normalize(tensor(new[] { 5.0 })).item<double>();
        Assert.Equal(0.0, first, 1e-12);
        Assert.Equal(1.0, normalizer.StandardDeviation);

        normalizer.IsFrozen = true;
        var frozen = normalizer.Normalize(tensor(new[] { 7.0, 9.0 })).data<double>().ToArray();
        Assert.Equal(1, normalizer.Count);
        Assert.Equal(2.0 / (1 + 1e-6), frozen[0], 1e-12);
        Assert.Equal(4.0 / (1 + 1e-6), frozen[1], 1e-12);

        normalizer.Reset();
        Assert.Equal(0, normalizer.Count);
    }

    [Fact]
    public void Non_finite_observations_are_rejected()
    {
        using var scope = NewDisposeScope();
        var normalizer = new RunningRewardNormalizer();
        Assert.Throws<ArgumentException>(() => normalizer.Normalize(tensor(new[] { 1.0, double.NaN })));
    }
}
