using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Analytic;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Analytic;

public class AnalyticRewardTests
{
    public static TheoryData<string> RewardNames => new() { "colorfulness", "saturation", "brightness", "contrast" };

    private static IRewardModel Create(string name) => name switch
    {
        "colorfulness" => new ColorfulnessReward(),
        "saturation" => new SaturationReward(),
        "brightness" => new BrightnessTargetReward(0.6),
        "contrast" => new ContrastTargetReward(0.2),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static double Reference(string name, double[][] image) => name switch
    {
        "colorfulness" => AnalyticReferences.Colorfulness(image),
        "saturation" => AnalyticReferences.Saturation(image, 1e-3),
        "brightness" => AnalyticReferences.Brightness(image, 0.6),
        "contrast" => AnalyticReferences.Contrast(image, 0.2),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(RewardNames))]
    public void Reward_matches_a_plain_loop_implementation_of_its_definition(string name)
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 11, b: 3, h: 6, w: 7, low: 0, high: 1);
        var scores = Create(name).Score(images, TestImages.Prompts(3)).data<double>().ToArray();
        var arrays = AnalyticReferences.ToArrays(images);
        for (var i = 0; i < 3; i++)
            Assert.Equal(Reference(name, arrays[i]), scores[i], 1e-6);
    }

    [Theory]
    [MemberData(nameof(RewardNames))]
    public void Autograd_gradient_matches_central_differences_in_float64(string name)
    {
        using var scope = NewDisposeScope();
        var reward = Create(name);
        var images = TestImages.Random(seed: 5);
        var prompts = TestImages.Prompts(2);
        var analytic = CentralDifferences.Autograd(x => reward.Score(x, prompts).sum(), images);
        var numeric = CentralDifferences.Gradient(x => reward.Score(x, prompts).sum().item<double>(), images);
        Assert.True(analytic.abs().max().item<double>() > 1e-4, "the gradient should not vanish at a random image");
        TensorAssert.Close(numeric, analytic, atol: 1e-7, rtol: 1e-5, what: $"{name} gradient");
    }

    [Theory]
    [MemberData(nameof(RewardNames))]
    public void Float32_images_give_float32_rewards_close_to_float64(string name)
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 3);
        var reward = Create(name);
        var single = reward.Score(images.to(ScalarType.Float32), TestImages.Prompts(2));
        var @double = reward.Score(images, TestImages.Prompts(2));
        Assert.Equal(ScalarType.Float32, single.dtype);
        Assert.Equal(ScalarType.Float64, @double.dtype);
        TensorAssert.Close(@double, single, atol: 1e-5, what: name);
    }

    [Fact]
    public void Colorfulness_of_a_half_red_half_blue_image_has_the_closed_form_value()
    {
        using var scope = NewDisposeScope();
        // Red pixels: rg = 1, yb = 0.5; blue pixels: rg = 0, yb = -1 (half each).
        // mean_rg = 0.5, std_rg = 0.5, mean_yb = -0.25, std_yb = 0.75.
        var image = zeros([1, 3, 2, 2], dtype: ScalarType.Float64);
        image[0, 0, 0] = tensor(1.0);
        image[0, 2, 1] = tensor(1.0);
        var expected = Math.Sqrt(0.25 + 0.5625) + 0.3 * Math.Sqrt(0.25 + 0.0625);
        var score = new ColorfulnessReward(epsilon: 1e-14).Score(image, ["x"]).item<double>();
        Assert.Equal(expected, score, 1e-9);
    }

    [Fact]
    public void Colorfulness_on_the_paper_scale_is_255_times_the_unit_scale()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 8);
        var unit = new ColorfulnessReward(epsilon: 1e-14).Score(images, TestImages.Prompts(2));
        var paper = new ColorfulnessReward(pixelScale: 255, epsilon: 1e-14).Score(images, TestImages.Prompts(2));
        TensorAssert.Close(unit * 255, paper, atol: 1e-9, rtol: 1e-9, what: "colourfulness on 0-255");
    }

    [Fact]
    public void Saturation_with_tiny_eps_equals_hsv_saturation()
    {
        using var scope = NewDisposeScope();
        var images = TestImages.Random(seed: 21, low: 0.1, high: 1);
        var scores = new SaturationReward(epsilon: 1e-12).Score(images, TestImages.Prompts(2)).data<double>().ToArray();
        var arrays = AnalyticReferences.ToArrays(images);
        for (var i = 0; i < 2; i++)
            Assert.Equal(AnalyticReferences.Saturation(arrays[i], 0), scores[i], 1e-9);
    }

    [Fact]
    public void Brightness_reward_is_maximal_when_the_mean_luma_equals_the_target()
    {
        using var scope = NewDisposeScope();
        var grey = full([1, 3, 4, 4], 0.3, dtype: ScalarType.Float64);
        Assert.Equal(0.0, new BrightnessTargetReward(0.3).Score(grey, ["x"]).item<double>(), 1e-15);
        Assert.True(new BrightnessTargetReward(0.5).Score(grey, ["x"]).item<double>() < 0);
    }

    [Theory]
    [InlineData("colorfulness")]
    [InlineData("contrast")]
    [InlineData("saturation")]
    public void Gradients_stay_finite_on_flat_and_black_images(string name)
    {
        using var scope = NewDisposeScope();
        var reward = Create(name);
        foreach (var value in new[] { 0.0, 0.5 })
        {
            var flat = full([1, 3, 3, 3], value, dtype: ScalarType.Float32);
            var gradient = CentralDifferences.Autograd(x => reward.Score(x, ["x"]).sum(), flat);
            Assert.True(gradient.isfinite().all().item<bool>(), $"{name} gradient at a flat image of {value} is not finite");
        }
    }

    [Theory]
    [MemberData(nameof(RewardNames))]
    public void Rewards_are_differentiable_and_named(string name)
    {
        var reward = Create(name);
        Assert.True(reward.IsDifferentiable);
        Assert.Equal(name, reward.Name);
    }

    [Fact]
    public void Invalid_constructor_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorfulnessReward(pixelScale: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorfulnessReward(epsilon: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SaturationReward(epsilon: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BrightnessTargetReward(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContrastTargetReward(0.6));
    }
}
