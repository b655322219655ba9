using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TailorPO.Core.Numerics;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.UNet;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// A LoRA training step's UNet work - forward + backward of mean(eps^2), gradients reaching only
/// the rank-4 adapters - through the library's UNet (<see cref="Ours"/>) and through a bare replay of
/// the same graph on the same weights (<see cref="BareReplay"/>, the baseline): the Ratio column is
/// our overhead over libtorch's floor (target &lt;= 1.10). SD v1.5 (random weights) at batch 1 and the
/// fixture UNet at batch 2, both on 32x32 latents. TAILORPO_BENCH_UNET=sd15 or =fixture restricts
/// the configs (default: both); an SD v1.5 step takes seconds, so use <c>--job short</c> or <c>dry</c>.
/// </summary>
[MemoryDiagnoser]
public class UNetFloorBenchmarks
{
    private const long LatentSize = 32;

    private UNet2DConditionModel _unet = null!;
    private BareUNet _bare = null!;
    private Tensor _latents = null!;
    private Tensor _timesteps = null!;
    private Tensor _text = null!;

    /// <summary>"sd15" (batch 1) or "fixture" (batch 2).</summary>
    [ParamsSource(nameof(ConfigNames))]
    public string Config { get; set; } = "fixture";

    /// <summary>The configs selected by TAILORPO_BENCH_UNET.</summary>
    public static IEnumerable<string> ConfigNames() => UNetBenchmarks.ConfigNames();

    /// <summary>Builds the model with random weights and a rank-4 LoRA whose B is non-zero, the bare replay, and inputs; checks both give the same output and adapter gradients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = Config == "sd15" ? UNetConfigs.StableDiffusionV15 : UNetConfigs.Fixture();
        long batch = Config == "sd15" ? 1 : 2;
        var clock = Stopwatch.StartNew();
        _unet = new UNet2DConditionModel(config);
        LoraAdapter.Attach(_unet, new LoraConfig { Rank = 4 }, new Generator(0));
        // A fresh adapter has B = 0; a trained one does not, and then both adapter matrices get gradients.
        var gen = new Generator(1);
        using (no_grad())
        {
            foreach (var (_, attention) in _unet.AttentionModules())
                foreach (var (_, layer) in attention.Projections())
                    layer.LoraB!.copy_(randn(layer.LoraB.shape, generator: gen) * 0.01);
        }
        var scale = _unet.AttentionModules().First().Attention.Projections().First().Layer.EffectiveScale;
        // The floor convolves as libtorch does, except on a CPU whose oneDNN is wrong (AMD Zen 5): there libtorch's numbers are
        // not the library's, and a floor that computes something else is no floor, so it takes the library's convolution.
        _bare = TorchNumerics.EnsureGuarded().OneDnnRight == false ? new BareUNet(_unet, scale, TorchNumerics.Conv2d) : new BareUNet(_unet, scale);
        _latents = randn(new long[] { batch, config.InChannels, LatentSize, LatentSize }, generator: gen);
        _timesteps = full(new long[] { batch }, 500L, ScalarType.Int64);
        _text = randn(new long[] { batch, 77, config.CrossAttentionDim[0] }, generator: gen);
        _unet.train();
        Console.WriteLine($"// {Config} batch {batch}, {LatentSize}x{LatentSize} latents, {get_num_threads()} threads: built in {clock.Elapsed.TotalSeconds:F1} s");
        CheckTheReplayIsTheSameGraph();
    }

    /// <summary>Frees the model and inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _unet.Dispose();
        _latents.Dispose();
        _timesteps.Dispose();
        _text.Dispose();
    }

    /// <summary>The library's UNet.</summary>
    [Benchmark]
    public float Ours() => Step(() => _unet.call(_latents, _timesteps, _text));

    /// <summary>The bare nn.functional replay on the same weights (the floor).</summary>
    [Benchmark(Baseline = true)]
    public float BareReplay() => Step(() => _bare.Forward(_latents, _timesteps, _text));

    private float Step(Func<Tensor> forward)
    {
        _unet.zero_grad();
        using var scope = NewDisposeScope();
        var loss = forward().square().mean();
        loss.backward();
        return loss.item<float>();
    }

    private void CheckTheReplayIsTheSameGraph()
    {
        var clock = Stopwatch.StartNew();
        var adapters = _unet.parameters().Where(p => p.requires_grad).ToList();
        (Tensor Output, Tensor[] Gradients) Run(Func<Tensor> forward)
        {
            _unet.zero_grad();
            var output = forward();
            output.square().mean().backward();
            return (output.detach(), adapters.Select(p => p.grad!.clone()).ToArray());
        }

        using var scope = NewDisposeScope();
        var ours = Run(() => _unet.call(_latents, _timesteps, _text));
        var bare = Run(() => _bare.Forward(_latents, _timesteps, _text));
        double outputDiff = (ours.Output - bare.Output).abs().max().to(ScalarType.Float64).item<double>();
        double gradientDiff = ours.Gradients.Zip(bare.Gradients).Max(g => (g.First - g.Second).abs().max().to(ScalarType.Float64).item<double>());
        Console.WriteLine($"// {Config}: replay vs ours: max |output diff| {outputDiff:E2}, max |adapter gradient diff| {gradientDiff:E2} " +
            $"over {adapters.Count} adapter tensors (checked in {clock.Elapsed.TotalSeconds:F1} s)");
        // The replay calls libtorch's convolution directly (the library's on a CPU whose oneDNN is wrong, above); under
        // TAILORPO_CONVOLUTION_PATH=reference the library's im2col and libtorch's kernel agree to rounding, not bit for bit.
        var decision = TorchNumerics.EnsureGuarded();
        double tolerance = decision.RoutesConvolutions && decision.OneDnnRight != false ? 1e-4 : 0;
        if (outputDiff > tolerance || gradientDiff > tolerance)
            throw new InvalidOperationException($"the bare replay is not the library's graph: output differs by {outputDiff:E2}, gradients by {gradientDiff:E2}.");
        _unet.zero_grad();
    }
}
