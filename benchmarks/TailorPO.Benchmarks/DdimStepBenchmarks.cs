using BenchmarkDotNet.Attributes;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// One DDIM step on SD-sized latents [2, 4, 64, 64] from a given noise prediction: the posterior
/// (x0_hat, sigma, mean), K candidates, and their element-mean log-probabilities.
/// </summary>
[MemoryDiagnoser]
public class DdimStepBenchmarks
{
    private DdimStepMath _math = null!;
    private Tensor _latents = null!, _noisePrediction = null!, _timesteps = null!;
    private Generator _generator = null!;

    /// <summary>K candidates drawn from the one posterior (TailorPO draws 2).</summary>
    [Params(1, 2)]
    public int Candidates { get; set; } = 2;

    /// <summary>Allocates the inputs once.</summary>
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

    /// <summary>Posterior, sampling and log-probabilities of one step.</summary>
    [Benchmark]
    public float StepWithLogProbability()
    {
        using var scope = NewDisposeScope();
        var posterior = _math.Posterior(_latents, _timesteps, _noisePrediction, eta: 1.0);
        var candidates = DdimStepMath.Draw(posterior, Candidates, _generator);
        var logProbabilities = DdimStepMath.LogProbability(candidates, posterior.Mean, posterior.Sigma);
        return logProbabilities[0, 0].item<float>();
    }
}
