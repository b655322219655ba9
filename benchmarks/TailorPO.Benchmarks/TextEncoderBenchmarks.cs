using BenchmarkDotNet.Attributes;
using TailorPO.Diffusion.Clip;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// SD v1.5's text encoder (12 layers, 768 wide, 77 tokens; random weights): one forward pass
/// without gradients, as a pipeline runs it once per prompt batch. Managed allocations only:
/// libtorch's native memory is not visible to the memory diagnoser.
/// </summary>
[MemoryDiagnoser]
public class TextEncoderBenchmarks
{
    private CLIPTextModel _model = null!;
    private Tensor _ids = null!;

    /// <summary>Prompts per forward pass (2 = a conditional and an unconditional prompt for CFG).</summary>
    [Params(1, 2)]
    public int Batch { get; set; }

    /// <summary>Builds the model and the token ids.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = CLIPTextConfig.StableDiffusionV15;
        _model = new CLIPTextModel(config);
        _model.eval();
        _ids = randint(0, config.VocabSize, [Batch, config.MaxPositionEmbeddings], dtype: ScalarType.Int64, generator: new Generator(1));
    }

    /// <summary>Encodes the prompts to the UNet's conditioning [B, 77, 768].</summary>
    [Benchmark]
    public long Encode()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return _model.forward(_ids).shape[1];
    }

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _ids.Dispose();
        _model.Dispose();
    }
}
