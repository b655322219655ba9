using TailorPO.TestUtilities;
using TailorPO.Training.Methods;
using TailorPO.Training.Optimization;
using TailorPO.Training.Options;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.Optimization;

/// <summary>
/// The trainer's gradient accumulation (<see cref="TrainerContext.Update"/> and <see cref="AdapterGradientStep"/> with
/// GradientAccumulationSteps &gt; 1, and the flush at an iteration's end) against one optimizer step on the explicit
/// sum of the separately computed gradients, clipped and applied by a fresh optimizer with the same options.
/// </summary>
public sealed class GradientAccumulationTests
{
    private const int Accumulation = 3;

    [Fact]
    public void Accumulated_updates_equal_one_step_on_the_summed_gradients()
    {
        // A clip well below the summed gradients' norm, so the clip acts on the sum and not on each part.
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o =>
        {
            o.GradientAccumulationSteps = Accumulation;
            o.MaxGradNorm = 0.05;
            o.WeightDecay = 0.01;
        });
        using var trainer = setup.CreateTrainer();
        var context = trainer.Context;
        var options = context.Options;
        var trained = setup.Model.TrainableParameters.Select(p => p.Parameter).ToList();
        var reference = trained.Select(p => new Parameter(p.detach().clone().DetachFromDisposeScope())).ToArray();
        var losses = Losses(trained, count: Accumulation + 2, seed: 5);
        using var optimizer = new AdapterAdamW(reference, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);

        // Two updates of three accumulate; only the third steps, and only it reports a gradient norm.
        var before = Snapshot(trained);
        for (var k = 0; k < Accumulation; k++)
        {
            var metrics = context.Update(-1, () => new UpdateOutcome(losses[k](trained), null, new UpdateSignals()));
            if (k < Accumulation - 1)
            {
                Assert.True(double.IsNaN(metrics.GradientNorm), $"update {k} reported a gradient norm before the accumulation ended");
                AssertUnchanged(before, trained, $"after update {k}");
            }
            else
            {
                var norm = StepOnSum(reference, optimizer, losses[..Accumulation], options.MaxGradNorm);
                Assert.True(norm > options.MaxGradNorm, $"the summed gradients' norm {norm} should exceed the clip");
                Assert.Equal(norm, metrics.GradientNorm); // the same float64 computation on the same sums
                AssertEqual(reference, trained, "after the accumulated step");
            }
        }

        // Two more updates are pending when the iteration ends: the flush applies their sum.
        for (var k = Accumulation; k < losses.Length; k++)
            context.Update(-1, () => new UpdateOutcome(losses[k](trained), null, new UpdateSignals()));
        AssertUnchanged(Snapshot(reference), trained, "with two updates pending");
        context.FlushPendingGradients();
        StepOnSum(reference, optimizer, losses[Accumulation..], options.MaxGradNorm);
        AssertEqual(reference, trained, "after the flush");
        Assert.Equal(2, optimizer.Steps);
        Assert.Equal(2, context.Optimizer.Steps);
    }

    [Fact]
    public void A_skipped_update_discards_everything_pending()
    {
        var options = new TailorPOTrainingOptions { GradientAccumulationSteps = 2, MaxGradNorm = 0.05, WeightDecay = 0.01, LearningRate = 0.03 };
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var trained = new[] { new Parameter(randn([3, 2], generator: generator)), new Parameter(randn([4], generator: generator)) };
        var reference = trained.Select(p => new Parameter(p.detach().clone())).ToArray();
        var losses = Losses(trained, count: 3, seed: 9);
        using var optimizer = new AdapterAdamW(trained, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        using var referenceOptimizer = new AdapterAdamW(reference, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        var step = new AdapterGradientStep(optimizer, trained, options);

        // The first backward is pending when its update turns out non-finite: it is thrown away, not carried over.
        Assert.Null(step.Backward(losses[0](trained)));
        step.Complete(skipped: true, norm: null);
        Assert.Equal(1, step.NonFiniteStreak);
        Assert.All(trained, p => Assert.Equal(0, p.grad!.abs().max().item<float>()));

        Assert.Null(step.Backward(losses[1](trained)));
        step.Complete(skipped: false, norm: null);
        var norm = step.Backward(losses[2](trained));
        Assert.NotNull(norm);
        step.Complete(skipped: false, norm);
        Assert.Equal(0, step.NonFiniteStreak);

        var expectedNorm = StepOnSum(reference, referenceOptimizer, losses[1..], options.MaxGradNorm);
        Assert.Equal(expectedNorm, norm.item<double>());
        AssertEqual(reference, trained, "after the step that followed the skipped update");
        Assert.Equal(1, optimizer.Steps);
    }

    /// <summary>Per-update losses: distinct random linear + quadratic functions of every parameter.</summary>
    private static Func<IReadOnlyList<Parameter>, Tensor>[] Losses(IReadOnlyList<Parameter> shapes, int count, long seed)
    {
        using var generator = new Generator((ulong)seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var terms = shapes.Select(p => (Linear: randn(p.shape, generator: generator).DetachFromDisposeScope(),
                Quadratic: rand(p.shape, generator: generator).DetachFromDisposeScope())).ToArray();
            return (Func<IReadOnlyList<Parameter>, Tensor>)(ps =>
                stack(ps.Select((p, i) => (terms[i].Linear * p).sum() + (terms[i].Quadratic * p.square()).sum() * 3).ToArray()).sum());
        }).ToArray();
    }

    /// <summary>Back-propagates each loss alone, sums the gradients explicitly, clips the sum and steps; returns the norm.</summary>
    private static double StepOnSum(IReadOnlyList<Parameter> parameters, AdapterAdamW optimizer,
        IReadOnlyList<Func<IReadOnlyList<Parameter>, Tensor>> losses, double? maxNorm)
    {
        using var scope = NewDisposeScope();
        var sums = parameters.Select(p => zeros_like(p)).ToArray();
        foreach (var loss in losses)
        {
            foreach (var p in parameters) p.grad = null;
            loss(parameters).backward();
            for (var i = 0; i < parameters.Count; i++) sums[i] = sums[i] + parameters[i].grad!;
        }
        for (var i = 0; i < parameters.Count; i++) parameters[i].grad = sums[i];
        var norm = GradientNorm.Clip(parameters, maxNorm).item<double>();
        optimizer.Step();
        optimizer.ZeroGrad();
        return norm;
    }

    private static Tensor[] Snapshot(IEnumerable<Parameter> parameters) => parameters.Select(p => p.detach().clone()).ToArray();

    private static void AssertUnchanged(IReadOnlyList<Tensor> before, IReadOnlyList<Parameter> parameters, string when)
    {
        for (var i = 0; i < parameters.Count; i++)
            Assert.True(before[i].eq(parameters[i]).all().item<bool>(), $"parameter {i} changed {when}");
    }

    private static void AssertEqual(IReadOnlyList<Parameter> expected, IReadOnlyList<Parameter> actual, string when)
    {
        for (var i = 0; i < expected.Count; i++)
            TensorAssert.Close(expected[i], actual[i], atol: 0, rtol: 0, what: $"parameter {i} {when}");
    }
}
