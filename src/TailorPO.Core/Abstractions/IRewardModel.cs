using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// A reward r(c, x0) on final images: JPEG compressibility, LAION aesthetics, CLIP score, or
/// one of your own.
/// </summary>
public interface IRewardModel
{
    /// <summary>A short name for metrics and logs, e.g. "aesthetic".</summary>
    string Name { get; }

    /// <summary>
    /// True when <see cref="Score"/> is differentiable with respect to the images (needed by
    /// TailorPO-G's gradient guidance).
    /// </summary>
    bool IsDifferentiable { get; }

    /// <summary>Scores a batch of images.</summary>
    /// <param name="images">RGB images in [0, 1], shape [B, 3, H, W], float32.</param>
    /// <param name="prompts">The B prompts the images were generated for.</param>
    /// <returns>Rewards, shape [B], float32 (higher is better).</returns>
    Tensor Score(Tensor images, IReadOnlyList<string> prompts);
}
