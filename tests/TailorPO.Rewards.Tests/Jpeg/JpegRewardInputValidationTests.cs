using TailorPO.Core.Abstractions;
using TailorPO.Rewards.Jpeg;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Jpeg;

/// <summary>
/// Bad input to the JPEG rewards fails with an ArgumentException (ArgumentOutOfRangeException for pixels
/// outside [0, 1]) that says what was wrong, as for every library reward.
/// </summary>
public sealed class JpegRewardInputValidationTests
{
    public static TheoryData<string> Rewards => ["compressibility", "incompressibility"];

    private static IRewardModel Create(string kind) =>
        kind == "compressibility" ? new JpegCompressibilityReward() : new JpegIncompressibilityReward();

    [Theory]
    [MemberData(nameof(Rewards))]
    public void WrongRankIsRejected(string kind)
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => Create(kind).Score(zeros(3, 8, 8), ["p"]));
        Assert.Equal("images", ex.ParamName);
        Assert.Contains("[B, 3, H, W]", ex.Message);
        Assert.Contains("[3, 8, 8]", ex.Message);
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void FourChannelsAreRejected(string kind)
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => Create(kind).Score(zeros(1, 4, 8, 8), ["p"]));
        Assert.Contains("[1, 4, 8, 8]", ex.Message);
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void IntegerImagesAreRejected(string kind)
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => Create(kind).Score(zeros(1, 3, 8, 8, ScalarType.Byte), ["p"]));
        Assert.Contains("floating-point", ex.Message);
        Assert.Contains("Byte", ex.Message);
    }

    [Theory]
    [InlineData("compressibility", 1.01f)]
    [InlineData("compressibility", -0.01f)]
    [InlineData("incompressibility", 2f)]
    [InlineData("incompressibility", -1f)]
    public void ValuesOutsideZeroToOneAreRejected(string kind, float value)
    {
        using var scope = NewDisposeScope();
        var images = full(new long[] { 2, 3, 8, 8 }, 0.5f);
        images[1, 2, 3, 4] = tensor(value);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Create(kind).Score(images, ["a", "b"]));
        Assert.Equal("images", ex.ParamName);
        Assert.Contains("[0, 1]", ex.Message);
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void ValuesWithinTheToleranceAreClampedLikeDdpo(string kind)
    {
        using var scope = NewDisposeScope();
        var inside = full(new long[] { 1, 3, 8, 8 }, 1f + 1e-5f);
        inside[0, 0, 0, 0] = tensor(-1e-5f);
        var clamped = inside.clamp(0, 1);
        var reward = Create(kind);
        Assert.Equal(reward.Score(clamped, ["p"]).item<float>(), reward.Score(inside, ["p"]).item<float>());
    }

    [Theory]
    [InlineData("compressibility", float.NaN)]
    [InlineData("incompressibility", float.NaN)]
    [InlineData("compressibility", float.PositiveInfinity)]
    public void NonFiniteValuesAreRejected(string kind, float value)
    {
        using var scope = NewDisposeScope();
        var images = full(new long[] { 1, 3, 8, 8 }, 0.5f);
        images[0, 1, 2, 3] = tensor(value);
        var ex = Assert.Throws<ArgumentException>(() => Create(kind).Score(images, ["p"]));
        Assert.Contains("hold 1 NaN or infinite", ex.Message);
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void PromptCountMustEqualTheBatchSize(string kind)
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => Create(kind).Score(zeros(2, 3, 8, 8), ["only one"]));
        Assert.Equal("prompts", ex.ParamName);
        Assert.Contains("1 prompts for a batch of 2", ex.Message);
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void EmptyBatchIsRejected(string kind)
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => Create(kind).Score(zeros(0, 3, 8, 8), []));
    }

    [Theory]
    [MemberData(nameof(Rewards))]
    public void NullArgumentsAreRejected(string kind)
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentNullException>(() => Create(kind).Score(null!, ["p"]));
        Assert.Throws<ArgumentNullException>(() => Create(kind).Score(zeros(1, 3, 8, 8), null!));
    }
}
