using TailorPO.TestUtilities;
using TailorPO.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// <see cref="AdapterAdamW"/>'s state against torch.optim.AdamW's (torch 1.13, float64): its exported state continues a
/// run identically, and torch's state imported mid-run continues like torch. Every step: <see cref="AdamWReferenceTests"/>.
/// </summary>
public sealed class AdapterAdamWStateTests
{
    public static TheoryData<string> Cases => AdamWReferenceTests.Cases;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_state_continues_the_run_identically(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCase(file, caseName);
        var split = c.Steps / 2;

        var straight = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using (var optimizer = c.Optimizer(straight))
            OptimizerFixture.Run(file, c, straight, 1, c.Steps, optimizer.Step);

        var first = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        (IReadOnlyDictionary<string, Tensor> Tensors, long Steps) state;
        using (var optimizer = c.Optimizer(first))
        {
            OptimizerFixture.Run(file, c, first, 1, split, optimizer.Step);
            state = optimizer.ExportState();
        }

        // A new optimizer over new parameters holding the first half's weights, as a resumed run builds them.
        var resumed = first.Select(p => new Parameter(p.detach().clone().DetachFromDisposeScope())).ToArray();
        using (var optimizer = c.Optimizer(resumed))
        {
            optimizer.ImportState(state.Tensors, state.Steps);
            foreach (var t in state.Tensors.Values) t.Dispose();
            Assert.Equal(split, optimizer.Steps);
            OptimizerFixture.Run(file, c, resumed, split + 1, c.Steps, optimizer.Step);
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
        var c = OptimizerFixture.AdamWCase(file, caseName);
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
        OptimizerFixture.Run(file, c, parameters, split + 1, c.Steps, optimizer.Step, step => AssertMatchesTorch(file, c, parameters, optimizer, step));
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

    /// <summary>Asserts parameters and moments equal torch's after <paramref name="step"/>.</summary>
    private static void AssertMatchesTorch(FixtureCases file, AdamWCase c, IReadOnlyList<Parameter> parameters, AdapterAdamW optimizer, int step)
    {
        using var scope = NewDisposeScope();
        ReferenceAgreement.Assert(file, OptimizerFixture.AfterStep(c, step, parameters, optimizer.ExportState().Tensors));
    }
}
