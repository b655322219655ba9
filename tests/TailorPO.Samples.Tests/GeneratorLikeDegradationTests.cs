using TailorPO.Samples.RewardPretraining;
using TailorPO.Shapes.Dataset;
using static TorchSharp.torch;

namespace TailorPO.Samples.Tests;

/// <summary>The preference model's training-time degradation towards generated images.</summary>
public class GeneratorLikeDegradationTests
{
    private static Tensor Drawn(int count) => new ShapeDataset(7).Batch(0, count).Images;

    private static bool Same(Tensor a, Tensor b) => a.eq(b).all().item<bool>();

    /// <summary>
    /// Mean squared difference between neighbours, both directions: the energy of the images' edges, which smoothing lowers
    /// (a jump spread over k pixels keeps its total variation but has 1/k of its squared size).
    /// </summary>
    private static double Sharpness(Tensor images) =>
        ((images[.., .., .., 1..] - images[.., .., .., ..^1]).square().mean() + (images[.., .., 1.., ..] - images[.., .., ..^1, ..]).square().mean()).item<float>();

    [Fact]
    public void It_is_a_function_of_seed_and_step_and_stays_in_the_pixel_range()
    {
        using var scope = NewDisposeScope();
        var images = Drawn(16);
        var degradation = new GeneratorLikeDegradation();
        var first = degradation.Apply(images, seed: 3, step: 10);
        Assert.True(Same(first, degradation.Apply(images, seed: 3, step: 10)));
        Assert.False(Same(first, degradation.Apply(images, seed: 3, step: 11)));
        Assert.False(Same(first, degradation.Apply(images, seed: 4, step: 10)));
        Assert.True(first.min().item<float>() >= -1 && first.max().item<float>() <= 1);
        Assert.Equal(images.shape, first.shape);
        Assert.True(Same(images, Drawn(16)), "the input was changed");
    }

    [Fact]
    public void Without_noise_every_degraded_image_is_softer_and_probability_zero_changes_nothing()
    {
        using var scope = NewDisposeScope();
        var images = Drawn(24);
        Assert.True(Same(GeneratorLikeDegradation.None.Apply(images, 1, 1), images));

        // Every image degraded, no noise: each one shrunk below the full side loses edge sharpness.
        var softened = new GeneratorLikeDegradation { Probability = 1, MinimumSide = 8, MaximumNoise = 0 };
        for (var step = 0; step < 4; step++)
        {
            var degraded = softened.Apply(images, seed: 1, step: step);
            var changed = 0;
            for (var i = 0; i < images.shape[0]; i++)
            {
                if (Same(degraded[i], images[i])) continue; // drawn at the full side: left as it was
                changed++;
                Assert.True(Sharpness(degraded[i].unsqueeze(0)) < Sharpness(images[i].unsqueeze(0)), $"image {i} of step {step} is not softer: {Sharpness(degraded[i].unsqueeze(0))} vs {Sharpness(images[i].unsqueeze(0))}");
            }
            Assert.True(changed >= images.shape[0] / 2, $"only {changed} of {images.shape[0]} images were degraded at step {step}");
        }
    }

    [Fact]
    public void Bad_settings_are_named()
    {
        var problems = new GeneratorLikeDegradation { Probability = 1.5, MinimumSide = 1, MaximumNoise = -0.1 }.Problems().ToList();
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.Contains("probability", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("smallest side", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("noise", StringComparison.Ordinal));
        var named = new GeneratorLikeDegradation { Probability = 1.5, MinimumSide = 1, MaximumNoise = -0.1 }.Problems("--degrade", "--degrade-side", "--degrade-noise").ToList();
        Assert.Equal(["--degrade must", "--degrade-side must", "--degrade-noise must"], named.Select(p => p[..(p.IndexOf(" must", StringComparison.Ordinal) + 5)]));
    }

    [Fact]
    public void A_smallest_side_above_the_images_leaves_them_at_full_size()
    {
        using var scope = NewDisposeScope();
        var images = Drawn(4);
        var degraded = new GeneratorLikeDegradation { Probability = 1, MinimumSide = 64, MaximumNoise = 0 }.Apply(images, seed: 2, step: 0);
        Assert.True(Same(degraded, images));
    }
}
