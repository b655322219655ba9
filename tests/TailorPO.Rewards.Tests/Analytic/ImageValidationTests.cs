using TailorPO.Rewards.Analytic;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Analytic;

public class ImageValidationTests
{
    private readonly ColorfulnessReward _reward = new();

    [Fact]
    public void Values_outside_zero_one_are_rejected_with_the_observed_range()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 1, low: -1, high: 1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _reward.Score(images, TestImages.Prompts(2)));
        Assert.Equal("images", error.ParamName);
        Assert.Contains("expected images in [0, 1]", error.Message);
        Assert.Contains("(x + 1) / 2", error.Message);
    }

    [Fact]
    public void Zero_to_255_images_are_rejected()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 1) * 255;
        Assert.Throws<ArgumentOutOfRangeException>(() => _reward.Score(images, TestImages.Prompts(2)));
    }

    [Theory]
    [InlineData(new long[] { 2, 4, 5, 5 })]
    [InlineData(new long[] { 3, 5, 5 })]
    [InlineData(new long[] { 2, 5, 5, 3 })]
    [InlineData(new long[] { 0, 3, 5, 5 })]
    public void Wrong_shapes_are_rejected_naming_the_shape(long[] shape)
    {
        using var scope = NewDisposeScope();
        var images = full(shape, 0.5f);
        var error = Assert.Throws<ArgumentException>(() => _reward.Score(images, TestImages.Prompts(shape[0])));
        Assert.Equal("images", error.ParamName);
        Assert.Contains(string.Join(", ", shape), error.Message);
    }

    [Fact]
    public void Integer_images_are_rejected()
    {
        using var scope = NewDisposeScope();
        var images = zeros([1, 3, 4, 4], dtype: ScalarType.Byte);
        var error = Assert.Throws<ArgumentException>(() => _reward.Score(images, ["x"]));
        Assert.Contains("floating-point", error.Message);
    }

    [Fact]
    public void A_prompt_count_different_from_the_batch_is_rejected()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 1, b: 3);
        var error = Assert.Throws<ArgumentException>(() => _reward.Score(images, TestImages.Prompts(2)));
        Assert.Equal("prompts", error.ParamName);
        Assert.Contains("2 prompt(s)", error.Message);
        Assert.Contains("3 image(s)", error.Message);
    }

    [Fact]
    public void NaN_pixels_are_rejected()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 1);
        images[0, 1, 2, 2] = tensor(double.NaN);
        var error = Assert.Throws<ArgumentException>(() => _reward.Score(images, TestImages.Prompts(2)));
        Assert.Contains("NaN", error.Message);
    }
}
