using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards;

/// <summary>
/// Base of the library's rewards: validates the batch (shape [B, 3, H, W], floating dtype, finite
/// values in [0, 1], one prompt per image), converts it to the compute dtype (float64 stays float64,
/// everything else becomes float32) and checks that the subclass returned B finite values.
/// Derive from it to get the same checks for a reward of your own.
/// </summary>
public abstract class RewardModelBase : IRewardModel
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract bool IsDifferentiable { get; }

    /// <summary>
    /// Scores a batch of images. Returns shape [B], float32 (float64 when the images are float64),
    /// on the images' device; differentiable with respect to the images when
    /// <see cref="IsDifferentiable"/> is true and they require grad.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape, dtype, range or prompt count.</exception>
    /// <exception cref="NonFiniteValueException">The reward produced NaN or infinity.</exception>
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        ImageBatchGuard.Validate(images, prompts);
        using var scope = NewDisposeScope();
        var computeType = ImageBatchGuard.ComputeType(images);
        var rewards = ScoreValidated(images.to(computeType), prompts);
        var batch = images.shape[0];
        if (rewards.dim() != 1 || rewards.shape[0] != batch)
            throw new InvalidOperationException(
                $"Reward '{Name}' returned shape [{string.Join(", ", rewards.shape)}]; a reward must return one value per image, shape [{batch}].");
        RewardChecks.ThrowIfNonFinite(rewards, $"the '{Name}' reward");
        return rewards.to(computeType).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Computes the rewards of a validated batch: <paramref name="images"/> is [B, 3, H, W] in
    /// [0, 1], float32 or float64, and <paramref name="prompts"/> has B entries.
    /// </summary>
    /// <returns>Shape [B]. Keep the autograd graph when the reward is differentiable.</returns>
    protected abstract Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts);
}
