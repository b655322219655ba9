using static TorchSharp.torch;

namespace TailorPO.Rewards.Ensemble;

/// <summary>
/// Puts one ensemble member's rewards on a common scale before they are weighted and summed, so
/// that no single reward dominates the sum because of its units (an aesthetic score of ~6 next to a
/// colourfulness of ~0.3). The statistics used are constants for autograd: the gradient of a
/// normalised reward is the raw gradient divided by the scale.
/// </summary>
public interface IRewardNormalizer
{
    /// <summary>A short description for logs, e.g. "fixed(mean=5.8, std=0.5)".</summary>
    string Description { get; }

    /// <summary>Normalises raw rewards of shape [B]; the result keeps their autograd graph, dtype and device.</summary>
    Tensor Normalize(Tensor raw);
}
