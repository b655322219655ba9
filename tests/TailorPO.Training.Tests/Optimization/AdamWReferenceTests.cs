using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// <see cref="Training.Optimization.AdapterAdamW"/> and TorchSharp's own AdamW against torch.optim.AdamW (torch 1.13,
/// float64, the gradients of every step taken from the fixture): parameters and both moments after every step.
/// </summary>
public sealed class AdamWReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => OptimizerFixture.Names(OptimizerFixture.LoadAdamW, f => OptimizerFixture.AdamWCases(f).Select(c => c.Name));

    public static TheoryData<string, string> ImplementationsAndCases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var implementation in AdamWUnderTest.Implementations)
                foreach (var caseName in Cases)
                    data.Add(implementation, caseName);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ImplementationsAndCases))]
    public void Every_step_matches_torch_AdamW(string implementation, string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCase(file, caseName);
        var parameters = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using var optimizer = AdamWUnderTest.Create(implementation, c, parameters);
        var agreement = new ReferenceAgreement();
        OptimizerFixture.Run(file, c, parameters, 1, c.Steps, optimizer.Step,
            step => agreement += ReferenceAgreement.Assert(file, optimizer.AfterStep(c, step, parameters)));
        output.WriteLine($"{implementation}, {c.Name}, {c.Steps} steps, parameters and moments: {agreement}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AdapterAdamW_and_TorchSharp_AdamW_are_bit_identical(string caseName)
    {
        using var file = OptimizerFixture.LoadAdamW();
        var c = OptimizerFixture.AdamWCase(file, caseName);
        var theirs = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        var ours = OptimizerFixture.Parameters(file, c.Name, c.Parameters, "initial");
        using var torchSharp = AdamWUnderTest.Create(AdamWUnderTest.TorchSharp, c, theirs);
        using var adapter = AdamWUnderTest.Create(AdamWUnderTest.Ours, c, ours);
        OptimizerFixture.Run(file, c, theirs, 1, c.Steps, () =>
        {
            for (var i = 0; i < c.Parameters; i++) ours[i].grad = theirs[i].grad; // both only read the gradient
            torchSharp.Step();
            adapter.Step();
        }, step =>
        {
            foreach (var ((name, expected), (_, actual)) in torchSharp.AfterStep(c, step, theirs).Zip(adapter.AfterStep(c, step, ours)))
                Assert.True(expected.eq(actual).all().item<bool>(), $"{name}: AdapterAdamW differs from TorchSharp's AdamW");
        });
    }
}
