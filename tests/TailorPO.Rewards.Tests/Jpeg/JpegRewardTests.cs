using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Jpeg;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>
/// The JPEG rewards in DDPO's units: compressibility = -(Pillow q95 size in kB),
/// incompressibility = +size, from images in [0, 1] rounded as DDPO rounds them.
/// </summary>
public sealed class JpegRewardTests
{
    [Fact]
    public void FixtureImagesScoreMinusAndPlusPillowsKilobytes()
    {
        var compressibility = new JpegCompressibilityReward();
        var incompressibility = new JpegIncompressibilityReward();
        // The reward takes a batch of one size, so batch the cases shape by shape.
        foreach (var group in JpegFixture.Load().GroupBy(c => (c.Height, c.Width)))
        {
            var cases = group.ToList();
            using var scope = NewDisposeScope();
            var images = ToUnitImages(cases.Select(c => c.RgbPlanar).ToList(), group.Key.Height, group.Key.Width);
            var prompts = cases.Select(c => c.Name).ToList();

            var minusKb = compressibility.Score(images, prompts).data<float>().ToArray();
            var plusKb = incompressibility.Score(images, prompts).data<float>().ToArray();

            for (var i = 0; i < cases.Count; i++)
            {
                var expected = cases[i].ExpectedKilobytes;
                Assert.True(Math.Abs(-minusKb[i] - expected) <= 0.02 * expected,
                    $"{cases[i].Name}: compressibility {minusKb[i]} vs -{expected} (Pillow).");
                Assert.True(Math.Abs(plusKb[i] - expected) <= 0.02 * expected,
                    $"{cases[i].Name}: incompressibility {plusKb[i]} vs {expected} (Pillow).");
            }
        }
    }

    [Fact]
    public void RewardsAreTheEncodedLengthInThousandsOfBytesWithOppositeSigns()
    {
        using var scope = NewDisposeScope();
        var rgb = new List<byte[]> { SyntheticImages.Noise(24, 40, seed: 1), SyntheticImages.Smooth(24, 40), SyntheticImages.Flat(24, 40, 9, 99, 199) };
        var images = ToUnitImages(rgb, 24, 40);
        var prompts = new[] { "a", "b", "c" };

        var compress = new JpegCompressibilityReward().Score(images, prompts);
        var incompress = new JpegIncompressibilityReward().Score(images, prompts);

        Assert.Equal([3L], compress.shape);
        Assert.Equal(ScalarType.Float32, compress.dtype);
        var encoder = new BaselineJpegEncoder(95);
        for (var i = 0; i < rgb.Count; i++)
        {
            var kilobytes = encoder.GetEncodedLength(rgb[i], 24, 40) / 1000f;
            Assert.Equal(-kilobytes, compress[i].item<float>());
            Assert.Equal(kilobytes, incompress[i].item<float>());
        }
        // Noise is the least compressible, the flat image the most.
        var c = compress.data<float>().ToArray();
        Assert.True(c[0] < c[1] && c[1] < c[2], $"Expected noise < smooth < flat compressibility, got [{string.Join(", ", c)}].");
    }

    [Fact]
    public void PixelsRoundToUint8AsDdpoDoesHalfToEven()
    {
        // Values on and near the rounding boundaries k + 0.5 (in units of 1/255).
        const int h = 16, w = 16;
        var random = new Random(7);
        var unit = new float[3 * h * w];
        for (var i = 0; i < unit.Length; i++)
        {
            var k = random.Next(0, 255);
            unit[i] = (k + (i % 3 == 0 ? 0.5f : (float)random.NextDouble())) / 255f;
        }
        using var scope = NewDisposeScope();
        var images = tensor(unit, [1, 3, h, w]);
        // DDPO's own conversion, run by libtorch: (x * 255).round().clamp(0, 255).to(uint8).
        var ddpoU8 = images.mul(255f).round().clamp(0, 255).to(ScalarType.Byte).contiguous().bytes.ToArray();
        var ours = new byte[unit.Length];
        TailorPO.Core.Imaging.PixelBytes.FromUnitInterval(unit, ours);
        Assert.Equal(ddpoU8, ours);
        Assert.Contains(unit, x => x * 255f == MathF.Floor(x * 255f) + 0.5f); // some exact ties were exercised
        var expected = new BaselineJpegEncoder().GetEncodedLength(ddpoU8, h, w) / 1000f;
        Assert.Equal(expected, new JpegIncompressibilityReward().Score(images, ["p"]).item<float>());
    }

    [Fact]
    public void HalfAndDoublePrecisionImagesScoreLikeFloat()
    {
        using var scope = NewDisposeScope();
        var images = ToUnitImages([SyntheticImages.Noise(16, 32, seed: 2)], 16, 32);
        var reward = new JpegIncompressibilityReward();
        var reference = reward.Score(images, ["p"]).item<float>();
        Assert.Equal(reference, reward.Score(images.to(ScalarType.Float64), ["p"]).item<float>());
        Assert.Equal(reference, reward.Score(images.to(ScalarType.Float16), ["p"]).item<float>());
    }

    [Fact]
    public void LowerQualityGivesSmallerFilesAndIsReported()
    {
        using var scope = NewDisposeScope();
        var images = ToUnitImages([SyntheticImages.Noise(32, 32, seed: 4)], 32, 32);
        var q95 = new JpegIncompressibilityReward();
        var q50 = new JpegIncompressibilityReward(new JpegRewardOptions { Quality = 50 });
        Assert.Equal(95, q95.Quality);
        Assert.Equal(50, q50.Quality);
        Assert.True(q50.Score(images, ["p"]).item<float>() < q95.Score(images, ["p"]).item<float>());
    }

    [Fact]
    public void RewardsDescribeThemselvesAsNonDifferentiable()
    {
        IRewardModel[] rewards = [new JpegCompressibilityReward(), new JpegIncompressibilityReward()];
        Assert.All(rewards, r => Assert.False(r.IsDifferentiable));
        Assert.Equal(["jpeg_compressibility", "jpeg_incompressibility"], rewards.Select(r => r.Name).ToArray());
    }

    [Theory]
    [InlineData(0, 1e-3)]
    [InlineData(101, 1e-3)]
    [InlineData(95, -1e-6)]
    [InlineData(95, 0.01)]
    [InlineData(95, double.NaN)]
    public void OutOfRangeOptionsAreRejected(int quality, double tolerance)
    {
        var options = new JpegRewardOptions { Quality = quality, RangeTolerance = tolerance };
        Assert.Throws<ArgumentOutOfRangeException>(() => new JpegCompressibilityReward(options));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JpegIncompressibilityReward(options));
    }

    /// <summary>Channel-planar uint8 images to a float32 [B, 3, H, W] batch in [0, 1].</summary>
    internal static Tensor ToUnitImages(IReadOnlyList<byte[]> rgbPlanar, int height, int width)
    {
        var all = rgbPlanar.SelectMany(b => b).ToArray();
        return tensor(all, [rgbPlanar.Count, 3, height, width]).to(ScalarType.Float32).div(255f);
    }
}
