using BenchmarkDotNet.Attributes;
using TailorPO.Diffusion.Vae;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// SD v1.5's VAE decoder (random weights): one 4x64x64 latent to a 512x512 image without
/// gradients, as the final decode and every step-reward evaluation need. Managed allocations
/// only: libtorch's native memory is not visible to the memory diagnoser.
/// </summary>
[MemoryDiagnoser]
public class VaeBenchmarks
{
    private AutoencoderKL _vae = null!;
    private VaeLatentDecoder _decoder = null!;
    private Tensor _latents = null!;

    /// <summary>Builds the VAE and a latent.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = AutoencoderKLConfig.StableDiffusionV15;
        _vae = new AutoencoderKL(config);
        _vae.eval();
        _decoder = new VaeLatentDecoder(_vae);
        _latents = randn([1, config.LatentChannels, 64, 64], generator: new Generator(1));
    }

    /// <summary>Decodes to images in [0, 1], [1, 3, 512, 512].</summary>
    [Benchmark]
    public long Decode512()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return _decoder.DecodeToImages(_latents).shape[3];
    }

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _latents.Dispose();
        _vae.Dispose();
    }
}
