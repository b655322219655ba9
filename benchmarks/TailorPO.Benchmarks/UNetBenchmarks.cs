using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.UNet;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// One UNet evaluation (a DDIM step's cost) and one LoRA training step (forward + backward reaching
/// only the rank-4 adapters), for the tiny fixture UNet and SD v1.5 with random weights at 64x64
/// latents. SD v1.5 runs take seconds to minutes per operation on a CPU; restrict the configs with
/// TAILORPO_BENCH_UNET=fixture or =sd15 (default: both) and TAILORPO_BENCH_UNET_BATCH=1 or =2 (default: both);
/// pick the job with --job (dry runs each case once, short is BenchmarkDotNet's short run).
/// </summary>
[MemoryDiagnoser]
public class UNetBenchmarks
{
    private UNet2DConditionModel _unet = null!;
    private Tensor _latents = null!;
    private Tensor _timesteps = null!;
    private Tensor _text = null!;

    /// <summary>Which UNet: "fixture" or "sd15".</summary>
    [ParamsSource(nameof(ConfigNames))]
    public string Config { get; set; } = "fixture";

    /// <summary>Batch size.</summary>
    [ParamsSource(nameof(BatchSizes))]
    public int Batch { get; set; }

    /// <summary>The batch sizes selected by TAILORPO_BENCH_UNET_BATCH (default: 1 and 2).</summary>
    public static IEnumerable<int> BatchSizes() =>
        Environment.GetEnvironmentVariable("TAILORPO_BENCH_UNET_BATCH") is { Length: > 0 } only ? only.Split(',').Select(int.Parse) : [1, 2];

    /// <summary>The configs selected by TAILORPO_BENCH_UNET.</summary>
    public static IEnumerable<string> ConfigNames() =>
        Environment.GetEnvironmentVariable("TAILORPO_BENCH_UNET") is { Length: > 0 } only ? only.Split(',') : ["fixture", "sd15"];

    /// <summary>Builds the model (random weights), a rank-4 LoRA on the attention projections, and inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = Config == "sd15" ? UNetConfigs.StableDiffusionV15 : UNetConfigs.Fixture();
        var clock = Stopwatch.StartNew();
        _unet = new UNet2DConditionModel(config);
        LoraAdapter.Attach(_unet, new LoraConfig { Rank = 4 }, new Generator(0));
        var gen = new Generator(1);
        long size = config.SampleSize ?? 64;
        _latents = randn(new long[] { Batch, config.InChannels, size, size }, generator: gen);
        _timesteps = full(new long[] { Batch }, 500L, ScalarType.Int64);
        _text = randn(new long[] { Batch, 77, config.CrossAttentionDim[0] }, generator: gen);
        Console.WriteLine($"// {Config} batch {Batch}: built in {clock.Elapsed.TotalSeconds:F1} s, " +
            $"{_unet.parameters().Sum(p => p.numel()):N0} parameters, latent {size}x{size}");
    }

    /// <summary>Reports the process's peak working set (native tensor memory included).</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"// {Config} batch {Batch}: peak working set {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
        _unet.Dispose();
        _latents.Dispose();
        _timesteps.Dispose();
        _text.Dispose();
    }

    /// <summary>eps = UNet(x_t, t, c) without gradients (sampling).</summary>
    [Benchmark]
    public float Forward()
    {
        _unet.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _unet.call(_latents, _timesteps, _text).mean().item<float>();
    }

    /// <summary>Forward + backward of mean(eps^2) with gradients reaching only the LoRA parameters.</summary>
    [Benchmark]
    public float ForwardBackward()
    {
        _unet.train();
        _unet.zero_grad();
        using var scope = NewDisposeScope();
        var loss = _unet.call(_latents, _timesteps, _text).square().mean();
        loss.backward();
        return loss.item<float>();
    }
}
