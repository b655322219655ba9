using TailorPO.Core.Abstractions;
using TailorPO.Core.Internal;
using static TorchSharp.torch;

namespace TailorPO.Core.Losses;

/// <summary>
/// Diffusion-DPO (Wallace et al.) on offline image pairs. Both images are noised with the same t and
/// noise; with denoising errors L = mean((eps(x_t) - noise)^2) of the policy and the reference,
/// loss = -log sigma(-0.5 beta_dpo ((L_w - L_l) - (L_w_ref - L_l_ref))). Written as a pairwise loss on the
/// implicit log-ratios h = -0.5 (L - L_ref) this is -log sigma(beta_dpo (h_w - h_l)).
/// </summary>
public sealed class DiffusionDpoLoss : LogisticPairwiseLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">beta_dpo &gt; 0 (5000 for SD v1.5 in the Diffusion-DPO paper and code).</param>
    /// <remarks>
    /// <see cref="LogisticPairwiseLoss.Compute"/> takes a pair of implicit log-ratios (<see cref="ImplicitLogRatio"/>)
    /// of the preferred and dis-preferred images.
    /// </remarks>
    public DiffusionDpoLoss(double beta = 5000)
        : base(PairwiseLossNames.DiffusionDpo, beta, "Diffusion-DPO's beta_dpo, e.g. 5000", clampEpsilon: null)
    {
    }

    /// <summary>The loss from the four per-sample denoising errors (each [B], see <see cref="DenoisingError"/>).</summary>
    public PairwiseLossResult ComputeFromErrors(Tensor policyPreferredError, Tensor policyDispreferredError,
        Tensor referencePreferredError, Tensor referenceDispreferredError)
    {
        LogisticPreference.CheckLogRatios(policyPreferredError, nameof(policyPreferredError), policyDispreferredError, nameof(policyDispreferredError));
        LogisticPreference.CheckLogRatios(referencePreferredError, nameof(referencePreferredError), referenceDispreferredError, nameof(referenceDispreferredError));
        TensorGuard.SameShape(referencePreferredError, nameof(referencePreferredError), policyPreferredError, nameof(policyPreferredError));
        using var scope = NewDisposeScope();
        var pair = new PreferencePair(
            ImplicitLogRatio(policyPreferredError, referencePreferredError),
            ImplicitLogRatio(policyDispreferredError, referenceDispreferredError));
        var result = Compute(pair);
        result.Loss.MoveToOuterDisposeScope();
        result.Statistics.Values.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Per-sample denoising error mean((eps_pred - noise)^2) over all non-batch elements, [B].</summary>
    /// <param name="predictedNoise">The network's prediction eps(x_t, t, c), [B, ...].</param>
    /// <param name="targetNoise">The noise that produced x_t, the same shape.</param>
    public static Tensor DenoisingError(Tensor predictedNoise, Tensor targetNoise)
    {
        TensorGuard.Floating(predictedNoise, nameof(predictedNoise));
        TensorGuard.Floating(targetNoise, nameof(targetNoise));
        TensorGuard.SameShape(targetNoise, nameof(targetNoise), predictedNoise, nameof(predictedNoise));
        if (predictedNoise.dim() < 2)
            throw new ArgumentException($"Argument 'predictedNoise' has shape {TensorGuard.Shape(predictedNoise)}; expected [B, ...] with at least one non-batch dimension.", nameof(predictedNoise));
        using var scope = NewDisposeScope();
        var dims = Enumerable.Range(1, (int)predictedNoise.dim() - 1).Select(d => (long)d).ToArray();
        return (predictedNoise - targetNoise).square().mean(dims).MoveToOuterDisposeScope();
    }

    /// <summary>The implicit log-ratio h = -0.5 (L_policy - L_reference) of one image, [B].</summary>
    public static Tensor ImplicitLogRatio(Tensor policyError, Tensor referenceError)
    {
        TensorGuard.Floating(policyError, nameof(policyError));
        TensorGuard.Floating(referenceError, nameof(referenceError));
        TensorGuard.SameShape(referenceError, nameof(referenceError), policyError, nameof(policyError));
        using var scope = NewDisposeScope();
        return (-0.5 * (policyError - referenceError)).MoveToOuterDisposeScope();
    }
}
