using TailorPO.TestUtilities;
using static TorchSharp.torch;

namespace TailorPO.Rewards.Tests.Aesthetic;

/// <summary>Paths and the tolerance of the aesthetic fixture (README section 5).</summary>
internal static class AestheticFixture
{
    internal static string Folder => FixtureRoot.Combine("aesthetic");

    internal static string MlpPath => FixtureRoot.Combine("aesthetic", "aesthetic_mlp.safetensors");

    internal static FixtureCases LoadCases() => FixtureCases.Load("aesthetic", "cases.safetensors");

    /// <summary>Asserts |actual - expected| &lt;= 1e-4 * max(1, |expected|) element-wise; returns the max error.</summary>
    internal static double AssertScoreClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        var a = actual.detach().to(ScalarType.Float64);
        var error = (a - e).abs();
        var bound = e.abs().clamp_min(1) * 1e-4;
        var maxError = error.max().item<double>();
        Assert.True(error.le(bound).all().item<bool>(), $"{what}: max |diff| {maxError:E3} exceeds 1e-4 * max(1, |expected|)");
        return maxError;
    }
}
