using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.TestUtilities.Doubles;

/// <summary>A non-differentiable reward (like JPEG size): the fraction of pixel values above 0.5.</summary>
public sealed class BrightPixelFractionReward : IRewardModel
{
    /// <inheritdoc />
    public string Name => "bright-fraction";

    /// <inheritdoc />
    public bool IsDifferentiable => false;

    /// <inheritdoc />
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts) =>
        images.detach().gt(0.5).to(ScalarType.Float32).flatten(1).mean([1]);
}
