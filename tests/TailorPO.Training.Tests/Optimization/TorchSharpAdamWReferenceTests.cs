using TailorPO.TestUtilities;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// TorchSharp's own <c>torch.optim.AdamW</c> (the alternative to <see cref="Training.Optimization.AdapterAdamW"/>) on the
/// same torch 1.13 fixture, and whether its state can be carried as plain tensors (as a safetensors checkpoint would).
/// </summary>
public sealed class TorchSharpAdamWReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => AdapterAdamWReferenceTests.Cases;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_step_matches_torch_AdamW(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var parameters = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using var optimizer = Create(c, parameters);
        var (worst, differing, total) = (0.0, 0L, 0L);
        for (var step = 1; step <= c.Steps; step++)
        {
            using var scope = NewDisposeScope();
            OptimizerFixture.SetGradients(file, c.Name, parameters, step);
            optimizer.step();
            var agreement = AdapterAdamWReferenceTests.Agreement(Pairs(c, parameters, States(optimizer), step), file);
            (worst, differing, total) = (Math.Max(worst, agreement.Worst), differing + agreement.Differing, total + agreement.Total);
        }
        output.WriteLine($"{c.Name}: TorchSharp AdamW, max element-wise relative difference from torch.optim.AdamW {worst:E3}; " +
            $"{differing} of {total} values not bit-identical");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void State_copied_out_as_tensors_and_back_continues_identically(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var split = c.Steps / 2;
        var first = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        var saved = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long savedStep;
        using (var optimizer = Create(c, first))
        {
            for (var step = 1; step <= split; step++)
            {
                using var scope = NewDisposeScope();
                OptimizerFixture.SetGradients(file, c.Name, first, step);
                optimizer.step();
            }
            // The state's tensors and step counter are public: a checkpoint can store them under names of its own.
            var states = States(optimizer);
            for (var i = 0; i < states.Count; i++)
            {
                saved[$"exp_avg.{i}"] = states[i].exp_avg.detach().clone().DetachFromDisposeScope();
                saved[$"exp_avg_sq.{i}"] = states[i].exp_avg_sq.detach().clone().DetachFromDisposeScope();
            }
            savedStep = states.Select(s => s.step).Distinct().Single();
        }

        var resumed = first.Select(p => new Parameter(p.detach().clone().DetachFromDisposeScope())).ToArray();
        using (var optimizer = Create(c, resumed))
        {
            var states = States(optimizer);
            using (no_grad())
                for (var i = 0; i < states.Count; i++)
                {
                    states[i].exp_avg.copy_(saved[$"exp_avg.{i}"]);
                    states[i].exp_avg_sq.copy_(saved[$"exp_avg_sq.{i}"]);
                    states[i].step = savedStep;
                }
            foreach (var t in saved.Values) t.Dispose();
            for (var step = split + 1; step <= c.Steps; step++)
            {
                using var scope = NewDisposeScope();
                OptimizerFixture.SetGradients(file, c.Name, resumed, step);
                optimizer.step();
            }
            AdapterAdamWReferenceTests.Agreement(Pairs(c, resumed, States(optimizer), c.Steps), file);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Is_bit_identical_to_AdapterAdamW(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCases(file).Single(x => x.Name == caseName);
        var theirs = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        var ours = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using var torchSharp = Create(c, theirs);
        using var adapter = c.Optimizer(ours);
        for (var step = 1; step <= c.Steps; step++)
        {
            using var scope = NewDisposeScope();
            OptimizerFixture.SetGradients(file, c.Name, theirs, step);
            OptimizerFixture.SetGradients(file, c.Name, ours, step);
            torchSharp.step();
            adapter.Step();
            var (state, _) = adapter.ExportState();
            var states = States(torchSharp);
            for (var i = 0; i < c.Parameters; i++)
            {
                Assert.True(theirs[i].eq(ours[i]).all().item<bool>(), $"{c.Name} step {step} p{i}: parameters differ");
                Assert.True(states[i].exp_avg.eq(state[$"exp_avg.{i}"]).all().item<bool>(), $"{c.Name} step {step} p{i}: exp_avg differs");
                Assert.True(states[i].exp_avg_sq.eq(state[$"exp_avg_sq.{i}"]).all().item<bool>(), $"{c.Name} step {step} p{i}: exp_avg_sq differs");
            }
        }
    }

    private static AdamW Create(AdamWCase c, IEnumerable<Parameter> parameters) =>
        optim.AdamW(parameters, c.Lr, c.Beta1, c.Beta2, c.Eps, c.WeightDecay);

    private static IReadOnlyList<AdamW.State> States(AdamW optimizer) =>
        optimizer.state_dict().State.Cast<AdamW.State>().ToList();

    private static IEnumerable<(string, Tensor)> Pairs(AdamWCase c, IReadOnlyList<Parameter> parameters, IReadOnlyList<AdamW.State> states, int step) =>
        Enumerable.Range(0, c.Parameters).SelectMany(i => new (string, Tensor)[]
        {
            ($"{c.Name}.p{i}.param.{step}", parameters[i]),
            ($"{c.Name}.p{i}.exp_avg.{step}", states[i].exp_avg),
            ($"{c.Name}.p{i}.exp_avg_sq.{step}", states[i].exp_avg_sq),
        });
}
