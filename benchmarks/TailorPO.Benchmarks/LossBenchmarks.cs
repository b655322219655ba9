using BenchmarkDotNet.Attributes;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// Forward + backward of each pairwise loss on SD-sized latents [2, 4, 64, 64]: log-ratios from the
/// current / reference posterior means and the candidates x_{t-1} (the means require grad), the loss,
/// and the backward pass. Diffusion-DPO starts from the policy's noise predictions instead.
/// </summary>
[MemoryDiagnoser]
public class LossBenchmarks
{
    private static readonly long[] Shape = [2, 4, 64, 64];

    private IPairwiseLoss _loss = null!;
    private Tensor _mean = null!, _loserMean = null!, _referenceMean = null!, _loserReferenceMean = null!;
    private Tensor _preferred = null!, _dispreferred = null!, _sigma = null!;
    private Tensor _noise = null!, _referencePreferredNoise = null!, _referenceDispreferredNoise = null!;

    /// <summary>The loss under test.</summary>
    [Params(PairwiseLossNames.Dpo, PairwiseLossNames.D3po, PairwiseLossNames.TailorPO, PairwiseLossNames.DiffusionDpo)]
    public string Loss { get; set; } = PairwiseLossNames.TailorPO;

    /// <summary>Allocates the inputs once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _loss = Loss switch
        {
            PairwiseLossNames.Dpo => new DpoLoss(),
            PairwiseLossNames.D3po => new D3poLoss(),
            PairwiseLossNames.TailorPO => new TailorPOLoss(),
            _ => new DiffusionDpoLoss(),
        };
        var generator = new Generator(1234);
        Tensor Draw() => randn(Shape, generator: generator);
        _referenceMean = Draw();
        _loserReferenceMean = Draw();
        // The current weights have moved slightly away from the reference.
        _mean = (_referenceMean + 0.01 * Draw()).requires_grad_(true);
        _loserMean = (_loserReferenceMean + 0.01 * Draw()).requires_grad_(true);
        _sigma = tensor(new[] { 0.6f, 0.6f });
        _preferred = _referenceMean + 0.6 * Draw();
        _dispreferred = _referenceMean + 0.6 * Draw();
        _noise = Draw();
        _referencePreferredNoise = _noise + 0.1 * Draw();
        _referenceDispreferredNoise = _noise + 0.1 * Draw();
    }

    /// <summary>Log-ratios (or denoising errors), the loss, and backward.</summary>
    [Benchmark]
    public double ForwardBackward()
    {
        using var scope = NewDisposeScope();
        PairwiseLossResult result;
        if (_loss is DiffusionDpoLoss diffusionDpo)
        {
            // _mean / _loserMean stand for the policy's noise predictions on the two images.
            result = diffusionDpo.ComputeFromErrors(
                DiffusionDpoLoss.DenoisingError(_mean, _noise),
                DiffusionDpoLoss.DenoisingError(_loserMean, _noise),
                DiffusionDpoLoss.DenoisingError(_referencePreferredNoise, _noise),
                DiffusionDpoLoss.DenoisingError(_referenceDispreferredNoise, _noise));
        }
        else if (_loss is D3poLoss)
        {
            // D3PO: the two log-ratios are conditioned on different x_t (two means).
            result = _loss.Compute(new PreferencePair(
                DdimStepMath.LogRatio(_preferred, _mean, _referenceMean, _sigma),
                DdimStepMath.LogRatio(_dispreferred, _loserMean, _loserReferenceMean, _sigma)));
        }
        else
        {
            // DPO / TailorPO: both candidates from the same x_t share one mean.
            result = _loss.Compute(new PreferencePair(
                DdimStepMath.LogRatio(_preferred, _mean, _referenceMean, _sigma),
                DdimStepMath.LogRatio(_dispreferred, _mean, _referenceMean, _sigma)));
        }
        result.Loss.backward();
        _mean.grad?.zero_();
        _loserMean.grad?.zero_();
        return result.Diagnostics.Loss;
    }
}
