using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// Whether TorchSharp's own <c>torch.optim.AdamW</c> (the alternative to <see cref="Training.Optimization.AdapterAdamW"/>)
/// can carry its state as plain named tensors, as a safetensors checkpoint would: copied out mid-run and into a new
/// optimizer over new parameters, the run continues like torch's.
/// </summary>
public sealed class TorchSharpAdamWStateTests
{
    public static TheoryData<string> Cases => AdamWReferenceTests.Cases;

    [Theory]
    [MemberData(nameof(Cases))]
    public void State_copied_out_as_tensors_and_back_continues_like_torch(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCase(file, caseName);
        var split = c.Steps / 2;
        var first = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        var saved = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long savedStep;
        using (var optimizer = Create(c, first))
        {
            OptimizerFixture.Run(file, c, first, 1, split, () => optimizer.step());
            // The state's tensors and step counter are public fields: a checkpoint can store them under names of its own.
            var states = AdamWUnderTest.States(optimizer);
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
            var states = AdamWUnderTest.States(optimizer);
            using (no_grad())
                for (var i = 0; i < states.Count; i++)
                {
                    states[i].exp_avg.copy_(saved[$"exp_avg.{i}"]);
                    states[i].exp_avg_sq.copy_(saved[$"exp_avg_sq.{i}"]);
                    states[i].step = savedStep;
                }
            foreach (var t in saved.Values) t.Dispose();
            OptimizerFixture.Run(file, c, resumed, split + 1, c.Steps, () => optimizer.step());
            ReferenceAgreement.Assert(file, OptimizerFixture.AfterStep(c, c.Steps, resumed, AdamWUnderTest.Moments(optimizer)));
        }
    }

    private static AdamW Create(AdamWCase c, IEnumerable<Parameter> parameters) =>
        optim.AdamW(parameters, c.Lr, c.Beta1, c.Beta2, c.Eps, c.WeightDecay);
}
