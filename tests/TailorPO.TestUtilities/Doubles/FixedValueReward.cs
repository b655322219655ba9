using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities.Doubles;

/// <summary>A reward that returns the same value for every image (e.g. NaN, to test non-finite guards).</summary>
public sealed class FixedValueReward(double value, bool differentiable = true) : IRewardModel
{
    /// <inheritdoc />
    public string Name => "fixed-value";

    /// <inheritdoc />
    public bool IsDifferentiable => differentiable;

    /// <inheritdoc />
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts) =>
        full([images.shape[0]], value, dtype: images.dtype, device: images.device);
}
