using TailorPO.Core.Abstractions;
using TailorPO.Guidance;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Refiners;

/// <summary>Plain TailorPO: the preferred sample continues unchanged.</summary>
public sealed class NoOpRefiner : IPreferredSampleRefiner
{
    /// <summary>The shared instance (the refiner has no state).</summary>
    public static NoOpRefiner Instance { get; } = new();

    /// <inheritdoc />
    public bool IsGuiding => false;

    /// <summary>Returns <paramref name="preferred"/> (detached), no noise prediction and no report.</summary>
    public PreferredSampleRefinement Refine(ISampler sampler, Tensor preferred, int stepIndex, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(preferred);
        return new PreferredSampleRefinement(preferred.detach(), null, null);
    }
}
