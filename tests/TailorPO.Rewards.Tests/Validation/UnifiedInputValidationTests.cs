using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.Jpeg;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Validation;

/// <summary>
/// Every library reward checks its input with one guard: the tensor rewards (libtorch reductions)
/// and the JPEG rewards (a managed pass over their float32 CPU copy) throw the same exception types
/// with the same messages, and accept exactly the same pixel range.
/// </summary>
public sealed class UnifiedInputValidationTests
{
    public static TheoryData<string> BadInputs => ["rank", "dtype", "prompts", "nan", "above", "below"];

    private static IRewardModel[] Rewards() => [new ColorfulnessReward(), new JpegIncompressibilityReward(), new JpegCompressibilityReward()];

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Tensor_and_jpeg_rewards_reject_the_same_bad_input_with_the_same_exception(string kind)
    {
        using var scope = NewDisposeScope();
        var images = full(new long[] { 2, 3, 8, 8 }, 0.5f);
        IReadOnlyList<string> prompts = ["a", "b"];
        switch (kind)
        {
            case "rank": images = zeros(3, 8, 8); prompts = ["a"]; break;
            case "dtype": images = zeros(new long[] { 2, 3, 8, 8 }, ScalarType.Byte); break;
            case "prompts": prompts = ["a"]; break;
            case "nan": images[1, 0, 0, 0] = tensor(float.NaN); break;
            case "above": images[0, 1, 2, 3] = tensor(1.5f); break;
            case "below": images[0, 1, 2, 3] = tensor(-0.25f); break;
        }

        var errors = Rewards().Select(r => Record.Exception(() => r.Score(images, prompts))).ToList();

        Assert.All(errors, e => Assert.NotNull(e));
        var expectedType = kind is "above" or "below" ? typeof(ArgumentOutOfRangeException) : typeof(ArgumentException);
        Assert.All(errors, e => Assert.IsType(expectedType, e));
        Assert.All(errors, e => Assert.Equal(errors[0]!.Message, e!.Message));
        Assert.All(errors, e => Assert.Equal(kind == "prompts" ? "prompts" : "images", ((ArgumentException)e!).ParamName));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-5)]
    [InlineData(1e-3)]
    public void Both_value_checks_accept_exactly_the_pixels_within_the_tolerance(double tolerance)
    {
        // The float32 neighbours of both bounds: the last accepted and the first rejected value on each side.
        var highestInside = LargestFloatAtMost(1 + tolerance);
        var lowestInside = -LargestFloatAtMost(tolerance);
        float[] accepted = [highestInside, lowestInside, 0f, 1f];
        float[] rejected = [MathF.BitIncrement(highestInside), MathF.BitDecrement(lowestInside)];

        foreach (var value in accepted)
        {
            TensorCheck(value, tolerance);
            SpanCheck(value, tolerance);
        }
        foreach (var value in rejected)
        {
            var fromTensor = Assert.Throws<ArgumentOutOfRangeException>(() => TensorCheck(value, tolerance));
            var fromSpan = Assert.Throws<ArgumentOutOfRangeException>(() => SpanCheck(value, tolerance));
            Assert.Equal(fromTensor.Message, fromSpan.Message);
        }
    }

    [Fact]
    public void The_default_tolerance_is_the_same_for_tensor_and_jpeg_rewards_and_a_reward_can_choose_its_own()
    {
        Assert.Equal(RewardModelBase.DefaultRangeTolerance, new ColorfulnessReward().RangeTolerance);
        Assert.Equal(RewardModelBase.DefaultRangeTolerance, new JpegCompressibilityReward().RangeTolerance);
        Assert.Equal(RewardModelBase.DefaultRangeTolerance, new JpegRewardOptions().RangeTolerance);

        using var scope = NewDisposeScope();
        var images = full(new long[] { 1, 3, 4, 4 }, 0.5f);
        images[0, 0, 0, 0] = tensor(1.0005f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictReward(1e-4).Score(images, ["p"]));
        Assert.Equal(0.5, new StrictReward(1e-3).Score(images, ["p"]).item<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictReward(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StrictReward(-1e-3));
    }

    private static void TensorCheck(float value, double tolerance)
    {
        using var scope = NewDisposeScope();
        var images = full(new long[] { 1, 3, 2, 2 }, 0.5f);
        images[0, 2, 1, 1] = tensor(value);
        ImageBatchGuard.ValidateValues(images, "images", tolerance);
    }

    private static void SpanCheck(float value, double tolerance)
    {
        var pixels = Enumerable.Repeat(0.5f, 12).ToArray();
        pixels[11] = value;
        ImageBatchGuard.ValidateValues(pixels, "images", tolerance);
    }

    private static float LargestFloatAtMost(double bound)
    {
        var f = (float)bound;
        return f > bound ? MathF.BitDecrement(f) : f;
    }

    /// <summary>A reward with a chosen tolerance that scores the first pixel of each image.</summary>
    private sealed class StrictReward(double tolerance) : RewardModelBase(tolerance)
    {
        public override string Name => "strict";

        public override bool IsDifferentiable => true;

        protected override Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts) => images[.., 1, 0, 0];
    }
}
