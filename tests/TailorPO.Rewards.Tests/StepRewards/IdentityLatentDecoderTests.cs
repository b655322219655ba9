using TailorPO.Rewards.StepRewards;
using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.StepRewards;

public class IdentityLatentDecoderTests
{
    [Fact]
    public void Minus_one_to_one_samples_map_affinely_to_zero_one_and_are_clamped()
    {
        using var scope = NewDisposeScope();
        var samples = tensor(new[] { -1.5, -1.0, 0.0, 0.5, 1.0, 2.0 }).reshape(1, 3, 1, 2);
        var images = new IdentityLatentDecoder().DecodeToImages(samples);
        TensorAssert.Close(tensor(new[] { 0.0, 0.0, 0.5, 0.75, 1.0, 1.0 }).reshape(1, 3, 1, 2), images, atol: 0, what: "images");
    }

    [Fact]
    public void Zero_one_samples_pass_through_and_the_clamp_can_be_switched_off()
    {
        using var scope = NewDisposeScope();
        var samples = tensor(new[] { -0.5, 0.25, 0.5, 0.75, 1.0, 1.5 }).reshape(1, 3, 1, 2);
        TensorAssert.Close(samples.clamp(0, 1), new IdentityLatentDecoder(PixelValueRange.ZeroToOne).DecodeToImages(samples), atol: 0, what: "clamped");
        TensorAssert.Close(samples, new IdentityLatentDecoder(PixelValueRange.ZeroToOne, clamp: false).DecodeToImages(samples), atol: 0, what: "identity");
    }

    [Fact]
    public void Non_rgb_samples_are_rejected()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => new IdentityLatentDecoder().DecodeToImages(zeros(1, 4, 2, 2)));
        Assert.Contains("[1, 4, 2, 2]", error.Message);
    }
}
