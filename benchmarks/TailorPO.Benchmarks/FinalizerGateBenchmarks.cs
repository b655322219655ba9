using BenchmarkDotNet.Attributes;
using TailorPO.Core.Threading;

namespace TailorPO.Benchmarks;

/// <summary>
/// What <see cref="FinalizerGate"/> costs the steps it guards: one closing (a gen-0 collection and the hand-off to the
/// finalizer thread) next to the bare collection, and <see cref="DdimStepBenchmarks"/>' step on SD-sized latents with and
/// without the gate (the sampling math only; a UNet call, which the gate also covers, costs far more than either).
/// </summary>
[MemoryDiagnoser]
public class FinalizerGateBenchmarks
{
    private readonly DdimStepBenchmarks _step = new() { Candidates = 2 };

    /// <summary>Allocates the step's inputs once.</summary>
    [GlobalSetup]
    public void Setup() => _step.Setup();

    /// <summary>The gen-0 collection a closing starts with.</summary>
    [Benchmark(Baseline = true)]
    public void Gen0Collection() => GC.Collect(0, GCCollectionMode.Forced, blocking: true);

    /// <summary>Closing and opening the gate.</summary>
    [Benchmark]
    public bool CloseAndOpen()
    {
        using var gate = FinalizerGate.Close();
        return FinalizerGate.IsHeldByCurrentThread;
    }

    /// <summary>One DDIM step (posterior, two candidates, log-probabilities) without the gate.</summary>
    [Benchmark]
    public float DdimStep() => _step.StepWithLogProbability();

    /// <summary>The same step inside a closing, as the trainer and the samplers run it.</summary>
    [Benchmark]
    public float DdimStepInsideTheGate()
    {
        using var gate = FinalizerGate.Close();
        return _step.StepWithLogProbability();
    }
}
