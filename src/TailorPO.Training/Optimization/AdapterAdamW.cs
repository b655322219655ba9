using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Optimization;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected moments, PyTorch's update order) over the adapter parameters, with
/// its whole state as named tensors so a checkpoint restores it bit for bit. Every operation stays on the
/// parameters' device; nothing is read to the host.
/// </summary>
public sealed class AdapterAdamW : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _exponentialAverage;
    private readonly Tensor[] _exponentialAverageSquare;

    /// <summary>Creates the optimizer with zero moments.</summary>
    public AdapterAdamW(IReadOnlyList<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("AdamW needs at least one parameter (no trainable adapter parameter?).", nameof(parameters));
        _parameters = parameters;
        LearningRate = learningRate;
        (Beta1, Beta2, Epsilon, WeightDecay) = (beta1, beta2, epsilon, weightDecay);
        _exponentialAverage = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _exponentialAverageSquare = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>beta1.</summary>
    public double Beta1 { get; }

    /// <summary>beta2.</summary>
    public double Beta2 { get; }

    /// <summary>epsilon.</summary>
    public double Epsilon { get; }

    /// <summary>The decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Clears every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
            if (p.grad is { } g) g.zero_();
    }

    /// <summary>
    /// One AdamW update from the current gradients, as torch.optim.AdamW computes it (tested against torch 1.13 in
    /// float64). Parameters without a gradient are skipped, but the step count is shared, where torch counts per
    /// parameter: the two differ only for a parameter that sometimes has no gradient, which <see cref="ZeroGrad"/>
    /// (zeroing, not clearing) never produces.
    /// </summary>
    public void Step()
    {
        Steps++;
        var correction1 = 1 - Math.Pow(Beta1, Steps);
        var correction2Root = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            if (p.grad is not { } g) continue;
            if (WeightDecay != 0) p.mul_(1 - LearningRate * WeightDecay);
            _exponentialAverage[i].mul_(Beta1).add_(g, alpha: 1 - Beta1);
            _exponentialAverageSquare[i].mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            // torch's order of operations (sqrt(v) / sqrt(1 - beta2^t), not sqrt(v / (1 - beta2^t))), so a run
            // reproduces torch.optim.AdamW to the last bits rather than to rounding.
            var denominator = (_exponentialAverageSquare[i].sqrt() / correction2Root).add_(Epsilon);
            p.addcdiv_(_exponentialAverage[i], denominator, value: -LearningRate / correction1);
        }
    }

    /// <summary>The state as named tensors (copies) plus the step count.</summary>
    public (IReadOnlyDictionary<string, Tensor> Tensors, long Steps) ExportState()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = NewDisposeScope(); // the detach() handles die here; the copies leave it
        for (var i = 0; i < _parameters.Count; i++)
        {
            tensors[$"exp_avg.{i}"] = _exponentialAverage[i].detach().clone().MoveToOuterDisposeScope();
            tensors[$"exp_avg_sq.{i}"] = _exponentialAverageSquare[i].detach().clone().MoveToOuterDisposeScope();
        }
        return (tensors, Steps);
    }

    /// <summary>Restores a state from <see cref="ExportState"/> (values copied in place).</summary>
    /// <exception cref="InvalidDataException">A tensor is missing or has another shape.</exception>
    public void ImportState(IReadOnlyDictionary<string, Tensor> tensors, long steps)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            Copy(tensors, $"exp_avg.{i}", _exponentialAverage[i]);
            Copy(tensors, $"exp_avg_sq.{i}", _exponentialAverageSquare[i]);
        }
        Steps = steps;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _exponentialAverage.Concat(_exponentialAverageSquare)) t.Dispose();
    }

    private static void Copy(IReadOnlyDictionary<string, Tensor> tensors, string key, Tensor target)
    {
        if (!tensors.TryGetValue(key, out var source))
            throw new InvalidDataException($"The optimizer state has no '{key}'; was it saved for other adapter parameters?");
        if (!source.shape.SequenceEqual(target.shape))
            throw new InvalidDataException($"Optimizer state '{key}' has shape [{string.Join(", ", source.shape)}]; the parameter is [{string.Join(", ", target.shape)}].");
        target.copy_(source);
    }
}
