using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Ensemble;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Ensemble;

/// <summary>Running statistics travel with a checkpoint: export, import into a fresh normaliser, and the outputs agree exactly.</summary>
public class RunningNormalizerStateTests
{
    [Fact]
    public void An_imported_state_normalises_exactly_as_the_exported_one_and_keeps_accumulating_alike()
    {
        using var scope = NewDisposeScope();
        var original = new RunningRewardNormalizer();
        original.Normalize(tensor(new[] { 1.0, 2.5, -0.75 }));
        original.Normalize(tensor(new[] { 0.125, 3.0 }));
        var restored = new RunningRewardNormalizer();
        restored.ImportState(original.ExportState());

        Assert.Equal((original.Count, original.Mean, original.StandardDeviation), (restored.Count, restored.Mean, restored.StandardDeviation));
        var next = tensor(new[] { 0.5, -2.0, 4.0 });
        Assert.Equal(original.Normalize(next).data<double>().ToArray(), restored.Normalize(next).data<double>().ToArray());
        // Closed form after all eight values: population mean and standard deviation.
        double[] all = [1.0, 2.5, -0.75, 0.125, 3.0, 0.5, -2.0, 4.0];
        var mean = all.Average();
        Assert.Equal(mean, restored.Mean, 12);
        Assert.Equal(Math.Sqrt(all.Select(v => (v - mean) * (v - mean)).Average()), restored.StandardDeviation, 12);
    }

    [Theory]
    [InlineData("count", -1.0)]
    [InlineData("count", 2.5)]
    [InlineData("mean", double.NaN)]
    [InlineData("sum_of_squares", -3.0)]
    public void A_state_it_could_not_have_written_is_refused(string key, double value)
    {
        var state = new RunningRewardNormalizer().ExportState().ToDictionary(p => p.Key, p => p.Value);
        state[key] = [value];
        Assert.Throws<InvalidDataException>(() => new RunningRewardNormalizer().ImportState(state));
        state.Remove(key);
        var error = Assert.Throws<InvalidDataException>(() => new RunningRewardNormalizer().ImportState(state));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void An_ensemble_carries_each_stateful_members_state_under_its_index()
    {
        using var scope = NewDisposeScope();
        RewardEnsemble Build() => new([
            new RewardEnsembleMember(new SaturationReward(), 1.0, new RunningRewardNormalizer()),
            new RewardEnsembleMember(new ColorfulnessReward(), 0.5),
            new RewardEnsembleMember(new ColorfulnessReward(), 2.0, new RunningRewardNormalizer())]);
        using var original = Build();
        var images = rand(new long[] { 3, 3, 8, 8 }, generator: new Generator(5));
        original.Score(images, ["a", "b", "c"]);
        var state = original.ExportState();
        Assert.Equal(["0/count", "0/mean", "0/sum_of_squares", "2/count", "2/mean", "2/sum_of_squares"], state.Keys.Order(StringComparer.Ordinal));

        using var restored = Build();
        restored.ImportState(state);
        var more = rand(new long[] { 3, 3, 8, 8 }, generator: new Generator(6));
        Assert.Equal(original.Score(more, ["a", "b", "c"]).data<float>().ToArray(), restored.Score(more, ["a", "b", "c"]).data<float>().ToArray());
    }
}
