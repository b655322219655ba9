using BenchmarkDotNet.Attributes;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Core.Threading;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// What <see cref="FinalizerGate"/> costs the steps it guards: one closing (a gen-0 collection and the hand-off to the
/// finalizer thread) next to the bare collection, and one DDIM step on SD-sized latents [2, 4, 64, 64] with and without
/// the gate (the sampling math only; a UNet call, which the gate also covers, costs far more than either).
/// </summary>
[MemoryDiagnoser]
public class FinalizerGateBenchmarks
{
    private DdimStepMath _math = null!;
    private Tensor _latents = null!, _noisePrediction = null!, _timesteps = null!;
    private Generator _generator = null!;

    /// <summary>Allocates the step's inputs once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var schedule = NoiseSchedule.StableDiffusionV15();
        _math = new DdimStepMath(schedule, new DdimTimesteps(schedule.Config, 20));
        _generator = new Generator(42);
        _latents = randn([2, 4, 64, 64], generator: _generator);
        _noisePrediction = randn([2, 4, 64, 64], generator: _generator);
        _timesteps = tensor(new long[] { 501, 501 });
    }

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
    public float DdimStep() => Step();

    /// <summary>The same step inside a closing, as the trainer and the samplers run it.</summary>
    [Benchmark]
    public float DdimStepInsideTheGate()
    {
        using var gate = FinalizerGate.Close();
        return Step();
    }

    private float Step()
    {
        using var scope = NewDisposeScope();
        var posterior = _math.Posterior(_latents, _timesteps, _noisePrediction, eta: 1.0);
        var candidates = DdimStepMath.Draw(posterior, 2, _generator);
        var logProbabilities = DdimStepMath.LogProbability(candidates, posterior.Mean, posterior.Sigma);
        return logProbabilities[0, 0].item<float>();
    }
}
