using BenchmarkDotNet.Attributes;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Sampling;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// The TailorPO loss's forward + backward through the public <see cref="IPairwiseLoss.Compute"/>
/// (<see cref="Ours"/>) against the bare expression <c>-logsigmoid(beta (h_w - h_l)).mean()</c>
/// (<see cref="BareExpression"/>, the baseline). "logratios" starts from [B] log-ratios that require
/// grad (target ratio &lt;= 1.5); "posteriors" derives them first from [2, 4, 64, 64] posterior means,
/// with DdimStepMath.LogRatio for ours and the bare formula for the baseline (target &lt;= 1.15).
/// </summary>
[MemoryDiagnoser]
public class LossFloorBenchmarks
{
    private const double Beta = 0.1;
    private static readonly long[] LatentShape = [2, 4, 64, 64];

    private IPairwiseLoss _loss = null!;
    private Tensor _preferredLogRatio = null!, _dispreferredLogRatio = null!;
    private Tensor _mean = null!, _referenceMean = null!, _preferred = null!, _dispreferred = null!, _sigma = null!;

    /// <summary>"logratios-B2" / "logratios-B64" ([B] log-ratios) or "posteriors" ([2, 4, 64, 64] means, B = 2).</summary>
    [Params("logratios-B2", "logratios-B64", "posteriors")]
    public string Input { get; set; } = "logratios-B2";

    private bool FromPosteriors => Input == "posteriors";

    /// <summary>Draws the inputs and checks that both sides compute the same loss and gradients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _loss = new TailorPOLoss(Beta);
        var generator = new Generator(1234);
        long batch = Input == "logratios-B64" ? 64 : 2;
        _preferredLogRatio = (0.01 * randn([batch], generator: generator)).requires_grad_(true);
        _dispreferredLogRatio = (0.01 * randn([batch], generator: generator)).requires_grad_(true);
        _referenceMean = randn(LatentShape, generator: generator);
        _mean = (_referenceMean + 0.01 * randn(LatentShape, generator: generator)).requires_grad_(true);
        _sigma = tensor(new[] { 0.6f, 0.6f });
        _preferred = _referenceMean + 0.6 * randn(LatentShape, generator: generator);
        _dispreferred = _referenceMean + 0.6 * randn(LatentShape, generator: generator);

        using var scope = NewDisposeScope();
        var (oursLoss, oursGradients) = LossAndGradients(OursLoss);
        var (bareLoss, bareGradients) = LossAndGradients(BareLoss);
        double gradientDiff = oursGradients.Zip(bareGradients).Max(g => (g.First - g.Second).abs().max().to(ScalarType.Float64).item<double>());
        Console.WriteLine($"// {Input}: loss ours {oursLoss:R}, bare {bareLoss:R}; max |gradient diff| {gradientDiff:E2}");
        if (Math.Abs(oursLoss - bareLoss) > 1e-6 * Math.Max(1, Math.Abs(bareLoss)) || gradientDiff > 1e-6)
            throw new InvalidOperationException("the bare expression does not compute the library's loss.");
    }

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _preferredLogRatio, _dispreferredLogRatio, _mean, _referenceMean, _preferred, _dispreferred, _sigma })
            t.Dispose();
    }

    /// <summary>Log-ratios (for "posteriors"), IPairwiseLoss.Compute, backward.</summary>
    [Benchmark]
    public void Ours()
    {
        ZeroGradients();
        using var scope = NewDisposeScope();
        OursLoss().backward();
    }

    /// <summary>
    /// As a trainer runs it: the loss's finiteness checks deferred into the step's one fused host read
    /// (<see cref="TailorPO.Core.Errors.DeferredFiniteChecks"/>), which the trainer pays once per update anyway.
    /// </summary>
    [Benchmark]
    public void OursInTrainingStep()
    {
        ZeroGradients();
        using var checks = TailorPO.Core.Errors.DeferredFiniteChecks.Begin();
        using var scope = NewDisposeScope();
        OursLoss().backward();
        checks.ThrowIfAnyNonFinite();
    }

    /// <summary>
    /// As a trainer that logs every step runs it: the checks deferred as above, and the statistics vector built (it is
    /// computed on first read; still on the device, no host read).
    /// </summary>
    [Benchmark]
    public void OursInTrainingStepWithStatistics()
    {
        ZeroGradients();
        using var checks = TailorPO.Core.Errors.DeferredFiniteChecks.Begin();
        using var scope = NewDisposeScope();
        var result = OursResult();
        result.Loss.backward();
        _ = result.Statistics.Values;
        checks.ThrowIfAnyNonFinite();
    }

    /// <summary>The same with bare tensor expressions (the floor).</summary>
    [Benchmark(Baseline = true)]
    public void BareExpression()
    {
        ZeroGradients();
        using var scope = NewDisposeScope();
        BareLoss().backward();
    }

    private Tensor OursLoss() => OursResult().Loss;

    private PairwiseLossResult OursResult()
    {
        var (preferred, dispreferred) = FromPosteriors
            ? (DdimStepMath.LogRatio(_preferred, _mean, _referenceMean, _sigma), DdimStepMath.LogRatio(_dispreferred, _mean, _referenceMean, _sigma))
            : (_preferredLogRatio, _dispreferredLogRatio);
        return _loss.Compute(new PreferencePair(preferred, dispreferred));
    }

    private Tensor BareLoss()
    {
        var (preferred, dispreferred) = FromPosteriors
            ? (BareLogRatio(_preferred), BareLogRatio(_dispreferred))
            : (_preferredLogRatio, _dispreferredLogRatio);
        return (-nn.functional.logsigmoid(Beta * (preferred - dispreferred))).mean();
    }

    /// <summary>-mean((mu_ref - mu)(2x - mu - mu_ref)) / (2 sigma^2) over the non-batch dimensions.</summary>
    private Tensor BareLogRatio(Tensor sample) =>
        -((_referenceMean - _mean) * (2.0 * sample - _mean - _referenceMean)).mean([1, 2, 3]) / (2.0 * _sigma.square());

    private void ZeroGradients()
    {
        _preferredLogRatio.grad?.zero_();
        _dispreferredLogRatio.grad?.zero_();
        _mean.grad?.zero_();
    }

    private (double Loss, Tensor[] Gradients) LossAndGradients(Func<Tensor> loss)
    {
        ZeroGradients();
        var value = loss();
        value.backward();
        var sources = FromPosteriors ? new[] { _mean } : new[] { _preferredLogRatio, _dispreferredLogRatio };
        return (value.to(ScalarType.Float64).item<double>(), sources.Select(t => t.grad!.clone()).ToArray());
    }
}
