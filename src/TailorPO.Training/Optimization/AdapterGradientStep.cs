using TailorPO.Training.Options;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TailorPO.Training.Optimization;

/// <summary>
/// The update of the adapters from one loss: backward, and - every <c>GradientAccumulationSteps</c> backward passes -
/// global-norm clipping and the AdamW step; a non-finite update discards the pending gradients instead, and the
/// streak of such updates is counted.
/// </summary>
internal sealed class AdapterGradientStep(AdapterAdamW optimizer, IReadOnlyList<Parameter> parameters, TailorPOTrainingOptions options)
{
    private int _pending;

    /// <summary>Non-finite updates in a row.</summary>
    public int NonFiniteStreak { get; private set; }

    /// <summary>Back-propagates <paramref name="loss"/>; at an accumulation boundary clips and returns the pre-clip norm (0-d, on the device), else null.</summary>
    public Tensor? Backward(Tensor loss)
    {
        loss.backward();
        _pending++;
        return _pending >= options.GradientAccumulationSteps ? GradientNorm.Clip(parameters, options.MaxGradNorm) : null;
    }

    /// <summary>Applies the step at a boundary (<paramref name="norm"/> given), or discards everything pending when <paramref name="skipped"/>.</summary>
    public void Complete(bool skipped, Tensor? norm)
    {
        if (skipped)
        {
            optimizer.ZeroGrad();
            _pending = 0;
            NonFiniteStreak++;
            return;
        }
        if (norm is null) return;
        optimizer.Step();
        optimizer.ZeroGrad();
        _pending = 0;
        NonFiniteStreak = 0;
    }

    /// <summary>Applies gradients still pending at the end of an iteration (so checkpoints hold none); a non-finite norm discards them.</summary>
    public void Flush()
    {
        if (_pending == 0) return;
        using var scope = NewDisposeScope();
        var norm = GradientNorm.Clip(parameters, options.MaxGradNorm);
        if (norm.isfinite().item<bool>()) optimizer.Step();
        optimizer.ZeroGrad();
        _pending = 0;
    }
}
