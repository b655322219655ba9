using TailorPO.TestUtilities;
using TailorPO.Training.Optimization;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// <see cref="GradientNorm.Clip"/> against torch.nn.utils.clip_grad_norm_ (torch 1.13, norm_type 2): the clipped
/// gradients, and the returned norm, which both give before clipping. Torch's factor is
/// min(1, max_norm / (norm + 1e-6)); the <c>at_norm</c> case (max_norm equal to the norm) is scaled only by that 1e-6.
/// </summary>
public sealed class GradientNormReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => OptimizerFixture.Names(OptimizerFixture.LoadClip, f => OptimizerFixture.ClipCases(f).Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Clip_matches_clip_grad_norm(string caseName)
    {
        using var file = OptimizerFixture.LoadClip();
        var c = OptimizerFixture.ClipCase(file, caseName);
        Assert.Equal(2.0, c.NormType);
        using var scope = NewDisposeScope();
        var parameters = Parameters(file, c);

        var norm = GradientNorm.Clip(parameters, c.MaxNorm);

        var tolerance = Tolerance(file, c);
        TensorAssert.Close(file[$"{c.Name}.total_norm"], norm, atol: 0, rtol: tolerance, what: $"{c.Name} total norm");
        var worst = 0.0;
        for (var i = 0; i < c.Parameters; i++)
        {
            if (!c.HasGradient[i])
            {
                Assert.Null(parameters[i].grad);
                continue;
            }
            var expected = file[$"{c.Name}.p{i}.grad_after"];
            var actual = parameters[i].grad!;
            Assert.Equal(expected.dtype, actual.dtype);
            TensorAssert.Close(expected, actual, atol: 0, rtol: tolerance, what: $"{c.Name} p{i} gradient after clipping");
            worst = Math.Max(worst, (actual.to_type(ScalarType.Float64) - expected.to_type(ScalarType.Float64)).abs()
                .div(expected.to_type(ScalarType.Float64).abs()).nan_to_num(0, double.PositiveInfinity, double.PositiveInfinity).max().item<double>());
        }
        output.WriteLine($"{c.Name} ({c.Dtype}, clipped: {c.Clipped}): norm {norm.item<double>():R} vs torch {file[$"{c.Name}.total_norm"].to_type(ScalarType.Float64).item<double>():R}; " +
            $"max relative gradient difference {worst:E3} (bound {tolerance:E1})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Without_a_max_norm_only_the_norm_is_computed(string caseName)
    {
        using var file = OptimizerFixture.LoadClip();
        var c = OptimizerFixture.ClipCase(file, caseName);
        using var scope = NewDisposeScope();
        var parameters = Parameters(file, c);

        var norm = GradientNorm.Clip(parameters, maxNorm: null);

        TensorAssert.Close(file[$"{c.Name}.total_norm"], norm, atol: 0, rtol: Tolerance(file, c), what: $"{c.Name} total norm");
        for (var i = 0; i < c.Parameters; i++)
            if (c.HasGradient[i])
                Assert.True(parameters[i].grad!.eq(file[$"{c.Name}.p{i}.grad_before"]).all().item<bool>(), $"{c.Name} p{i}: the gradient changed without a max norm");
    }

    /// <summary>
    /// Torch computes the norm in the gradients' dtype as a norm of per-tensor norms; ours sums squares in float64. In
    /// float64 the two agree to a few units in the last place; in float32 torch's own rounding dominates.
    /// </summary>
    private static double Tolerance(FixtureCases file, ClipCase c) =>
        file[$"{c.Name}.total_norm"].dtype == ScalarType.Float64 ? 1e-14 : 1e-6;

    private static Parameter[] Parameters(FixtureCases file, ClipCase c)
    {
        var parameters = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "param");
        for (var i = 0; i < c.Parameters; i++)
            if (c.HasGradient[i])
            {
                using var gradient = file[$"{c.Name}.p{i}.grad_before"].clone();
                parameters[i].grad = gradient;
            }
        return parameters;
    }
}
