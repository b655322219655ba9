using TailorPO.Core.Errors;
using TailorPO.Core.Losses;

namespace TailorPO.Core.Tests.Losses;

/// <summary>
/// Issue 11, item 10: DDPO's advantage normalisation gives finite advantages for any finite rewards
/// (it returned NaN for [1e308, 1e308, -1e308]) and refuses NaN or infinite rewards clearly.
/// </summary>
public class AdvantageFinitenessTests
{
    [Fact]
    public void Rewards_near_the_float64_limit_give_finite_advantages_equal_to_the_scaled_formula()
    {
        double[] rewards = [1e308, 1e308, -1e308];
        var tracker = new PerPromptStatTracker(bufferSize: 4, minCount: 4);
        var advantages = tracker.Update(["p", "p", "p"], rewards);
        Assert.All(advantages, a => Assert.True(double.IsFinite(a)));
        // The same quotient on rewards / 1e308 (exact in float64), computed here by hand.
        double[] scaled = [1, 1, -1];
        var mean = scaled.Average();
        var std = Math.Sqrt(scaled.Select(v => (v - mean) * (v - mean)).Average());
        for (var i = 0; i < 3; i++)
            Assert.Equal((scaled[i] - mean) / (std + PerPromptStatTracker.StdEpsilon / 1e308), advantages[i], 12);

        var batch = PerPromptStatTracker.BatchAdvantages(rewards);
        Assert.All(batch, a => Assert.True(double.IsFinite(a)));
    }

    [Fact]
    public void Seeded_extreme_finite_rewards_always_give_finite_advantages()
    {
        var random = new Random(17);
        double[] magnitudes = [double.MaxValue, 1e308, 1e300, 1e150, 1, 1e-300, double.Epsilon, 0];
        for (var trial = 0; trial < 400; trial++)
        {
            var count = random.Next(1, 9);
            var rewards = Enumerable.Range(0, count)
                .Select(_ => magnitudes[random.Next(magnitudes.Length)] * (random.Next(2) == 0 ? -1 : 1) * (random.Next(3) == 0 ? 1 : random.NextDouble()))
                .ToArray();
            var prompts = Enumerable.Range(0, count).Select(_ => random.Next(2) == 0 ? "a" : "b").ToArray();
            var tracker = new PerPromptStatTracker(bufferSize: 3, minCount: random.Next(1, 4));
            for (var round = 0; round < 3; round++)
            {
                var advantages = tracker.Update(prompts, rewards);
                Assert.All(advantages, a => Assert.True(double.IsFinite(a), $"trial {trial}: [{string.Join(", ", rewards)}] gave {a}"));
            }
            Assert.All(PerPromptStatTracker.BatchAdvantages(rewards), a => Assert.True(double.IsFinite(a)));
        }
    }

    [Fact]
    public void A_reward_outside_its_prompts_buffer_is_clamped_to_the_float64_range_keeping_its_sign()
    {
        // Four rewards of one prompt, a buffer of three: the first is normalised by the last three only,
        // whose spread is zero, so the exact advantage -1.7e308 / 1e-6 is beyond float64.
        var tracker = new PerPromptStatTracker(bufferSize: 3, minCount: 1);
        var advantages = tracker.Update(["p", "p", "p", "p"], [-1.7e308, 0, 0, 0]);
        Assert.Equal(-double.MaxValue, advantages[0]);
        Assert.Equal([0.0, 0.0, 0.0], advantages[1..]);
    }

    [Fact]
    public void Ordinary_rewards_still_get_numpys_values_exactly()
    {
        double[] rewards = [0.25, -1.5, 3.0, 0.125];
        var mean = rewards.Sum() / rewards.Length;
        var std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / rewards.Length);
        var batch = PerPromptStatTracker.BatchAdvantages(rewards);
        for (var i = 0; i < rewards.Length; i++) Assert.Equal((rewards[i] - mean) / (std + 1e-8), batch[i]);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_rewards_are_refused_by_name(double bad)
    {
        var error = Assert.Throws<NonFiniteValueException>(() => PerPromptStatTracker.BatchAdvantages([1.0, bad]));
        Assert.Contains("element 1", error.Message);
        Assert.Throws<NonFiniteValueException>(() => new PerPromptStatTracker().Update(["a", "a"], [1.0, bad]));
        var tracker = new PerPromptStatTracker();
        tracker.Update(["a"], [2.0]);
        Assert.Throws<NonFiniteValueException>(() => tracker.ImportState(new Dictionary<string, double[]> { ["b"] = [1.0, bad] }));
        Assert.Equal([2.0], tracker.ExportState()["a"]);
    }
}
