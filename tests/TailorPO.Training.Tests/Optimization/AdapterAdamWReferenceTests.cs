using TailorPO.TestUtilities;
using TailorPO.Training.Optimization;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// <see cref="AdapterAdamW"/> against torch.optim.AdamW (torch 1.13, float64, the gradients of every step taken from
/// the fixture): parameters and both moments after every step, and its exported state continuing a run.
/// </summary>
public sealed class AdapterAdamWReferenceTests(ITestOutputHelper output)
{
    /// <summary>
    /// Bound on |ours - torch| relative to the largest |torch value| of the same tensor. Both sides run the same float64
    /// operations in the same order, so what remains is the last-bit rounding of libtorch's vectorised kernels (torch
    /// 1.13 against TorchSharp's libtorch): observed at most one unit in the last place (1.5e-16 relative) over 50 steps.
    /// The bound is per tensor rather than per element because a parameter crossing zero keeps the absolute rounding of
    /// its larger neighbours.
    /// </summary>
    internal const double RelativeTolerance = 1e-14;

    public static TheoryData<string> Cases => OptimizerFixture.Names(OptimizerFixture.LoadAdamW, f => OptimizerFixture.AdamWCases(f).Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_step_matches_torch_AdamW(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var parameters = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using var optimizer = c.Optimizer(parameters);
        var (worst, differing, total) = (0.0, 0L, 0L);
        for (var step = 1; step <= c.Steps; step++)
        {
            using var scope = NewDisposeScope();
            OptimizerFixture.SetGradients(file, c.Name, parameters, step);
            optimizer.Step();
            Assert.Equal(step, optimizer.Steps);
            var agreement = AssertMatchesTorch(file, c, parameters, optimizer, step);
            (worst, differing, total) = (Math.Max(worst, agreement.Worst), differing + agreement.Differing, total + agreement.Total);
        }
        output.WriteLine($"{c.Name}: {c.Steps} steps, max element-wise relative difference from torch.optim.AdamW {worst:E3}; " +
            $"{differing} of {total} values (parameters and moments, all steps) not bit-identical");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_state_continues_the_run_identically(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var split = c.Steps / 2;

        var straight = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using (var optimizer = c.Optimizer(straight))
            for (var step = 1; step <= c.Steps; step++)
            {
                using var scope = NewDisposeScope();
                OptimizerFixture.SetGradients(file, c.Name, straight, step);
                optimizer.Step();
            }

        var first = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        (IReadOnlyDictionary<string, Tensor> Tensors, long Steps) state;
        using (var optimizer = c.Optimizer(first))
        {
            for (var step = 1; step <= split; step++)
            {
                using var scope = NewDisposeScope();
                OptimizerFixture.SetGradients(file, c.Name, first, step);
                optimizer.Step();
            }
            state = optimizer.ExportState();
        }

        // A new optimizer over new parameters holding the first half's weights, as a resumed run builds them.
        var resumed = first.Select(p => new Parameter(p.detach().clone().DetachFromDisposeScope())).ToArray();
        using (var optimizer = c.Optimizer(resumed))
        {
            optimizer.ImportState(state.Tensors, state.Steps);
            foreach (var t in state.Tensors.Values) t.Dispose();
            Assert.Equal(split, optimizer.Steps);
            for (var step = split + 1; step <= c.Steps; step++)
            {
                using var scope = NewDisposeScope();
                OptimizerFixture.SetGradients(file, c.Name, resumed, step);
                optimizer.Step();
            }
            AssertMatchesTorch(file, c, resumed, optimizer, c.Steps);
        }

        for (var i = 0; i < c.Parameters; i++)
            Assert.True(straight[i].eq(resumed[i]).all().item<bool>(), $"parameter {i} after the resumed run differs from the uninterrupted run");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Torch_state_imported_mid_run_continues_like_torch(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var split = c.Steps / 2;
        var parameters = OptimizerFixture.Parameters(file, c.Name, c.Parameters, $"param.{split}");
        var torchState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < c.Parameters; i++)
        {
            torchState[$"exp_avg.{i}"] = file[$"{c.Name}.p{i}.exp_avg.{split}"];
            torchState[$"exp_avg_sq.{i}"] = file[$"{c.Name}.p{i}.exp_avg_sq.{split}"];
        }
        using var optimizer = c.Optimizer(parameters);
        optimizer.ImportState(torchState, split);
        for (var step = split + 1; step <= c.Steps; step++)
        {
            using var scope = NewDisposeScope();
            OptimizerFixture.SetGradients(file, c.Name, parameters, step);
            optimizer.Step();
            AssertMatchesTorch(file, c, parameters, optimizer, step);
        }
    }

    [Fact]
    public void Importing_a_state_of_other_parameters_is_refused()
    {
        using var scope = NewDisposeScope();
        using var optimizer = new AdapterAdamW([new Parameter(zeros(3, dtype: ScalarType.Float64))], learningRate: 0.1);
        var wrongShape = new Dictionary<string, Tensor> { ["exp_avg.0"] = zeros(4, dtype: ScalarType.Float64), ["exp_avg_sq.0"] = zeros(4, dtype: ScalarType.Float64) };
        Assert.Contains("shape", Assert.Throws<InvalidDataException>(() => optimizer.ImportState(wrongShape, 1)).Message);
        var missing = new Dictionary<string, Tensor> { ["exp_avg.0"] = zeros(3, dtype: ScalarType.Float64) };
        Assert.Contains("exp_avg_sq.0", Assert.Throws<InvalidDataException>(() => optimizer.ImportState(missing, 1)).Message);
    }

    /// <summary>
    /// Asserts parameters and moments equal torch's after <paramref name="step"/>; returns the worst element-wise relative
    /// difference and how many values are not bit-identical.
    /// </summary>
    internal static (double Worst, long Differing, long Total) AssertMatchesTorch(FixtureCases file, AdamWCase c, IReadOnlyList<Parameter> parameters, AdapterAdamW optimizer, int step)
    {
        var (state, _) = optimizer.ExportState();
        try
        {
            var moments = Enumerable.Range(0, c.Parameters).Select(i => new[]
                { ("param", (Tensor)parameters[i]), ("exp_avg", state[$"exp_avg.{i}"]), ("exp_avg_sq", state[$"exp_avg_sq.{i}"]) });
            return Agreement(moments.SelectMany((fields, i) => fields.Select(f => ($"{c.Name}.p{i}.{f.Item1}.{step}", f.Item2))), file);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>Asserts each (fixture name, tensor) pair within <see cref="RelativeTolerance"/>; returns the agreement figures.</summary>
    internal static (double Worst, long Differing, long Total) Agreement(IEnumerable<(string Expected, Tensor Actual)> pairs, FixtureCases file)
    {
        var (worst, differing, total) = (0.0, 0L, 0L);
        foreach (var (name, actual) in pairs)
        {
            using var scope = NewDisposeScope();
            var e = file[name].to_type(ScalarType.Float64);
            var a = actual.detach().to_type(ScalarType.Float64);
            TensorAssert.Close(e, a, atol: RelativeTolerance * e.abs().max().item<double>(), what: name);
            var difference = (a - e).abs();
            worst = Math.Max(worst, difference.div(e.abs()).nan_to_num(0, double.PositiveInfinity, double.PositiveInfinity).max().item<double>());
            differing += difference.gt(0).sum().item<long>();
            total += e.numel();
        }
        return (worst, differing, total);
    }
}
