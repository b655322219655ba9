namespace TailorPO.Core.Abstractions;

/// <summary>
/// A preference loss on one (preferred, dis-preferred) pair per batch element: DPO, D3PO,
/// TailorPO, Diffusion-DPO. Inputs are log-ratios h = log pi_theta / pi_ref of each response
/// (for DDIM steps an element-mean log-probability difference; Diffusion-DPO derives its
/// implicit log-ratio from denoising errors).
/// </summary>
public interface IPairwiseLoss
{
    /// <summary>A short name for metrics and logs, e.g. "tailorpo".</summary>
    string Name { get; }

    /// <summary>Computes the scalar loss (mean over the batch) and its diagnostics.</summary>
    /// <exception cref="Errors.NonFiniteValueException">An input or the loss is NaN or infinite.</exception>
    PairwiseLossResult Compute(PreferencePair pair);
}
