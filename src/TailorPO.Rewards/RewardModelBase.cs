using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Rewards.Validation;
using static TorchSharp.torch;

namespace TailorPO.Rewards;

/// <summary>
/// Base of the library's tensor rewards: validates the batch (shape [B, 3, H, W], floating dtype, finite
/// values in [0, 1] up to <see cref="RangeTolerance"/>, one prompt per image), converts it to the compute
/// dtype (float64 stays float64, everything else becomes float32) and checks that the subclass returned
/// B finite values. Derive from it to get the same checks for a reward of your own.
/// </summary>
/// <remarks>
/// Every library reward (these and the JPEG rewards) checks its input the same way: null arguments throw
/// <see cref="ArgumentNullException"/>; a wrong shape, dtype, prompt count or a NaN/infinite pixel throws
/// <see cref="ArgumentException"/>; finite pixels outside <c>[-RangeTolerance, 1 + RangeTolerance]</c>
/// throw <see cref="ArgumentOutOfRangeException"/>.
/// </remarks>
public abstract class RewardModelBase : IRewardModel
{
    /// <summary>
    /// The default <see cref="RangeTolerance"/>, 1e-3: decoders clamp exactly, but a half-precision round
    /// trip or a resize can overshoot [0, 1] by a rounding error, which is not a caller's mistake; anything
    /// larger means the images are not in [0, 1] at all (e.g. [-1, 1] VAE output not yet rescaled, or 0-255).
    /// </summary>
    public const double DefaultRangeTolerance = 1e-3;

    /// <summary>Creates the base with <see cref="DefaultRangeTolerance"/>.</summary>
    protected RewardModelBase()
        : this(DefaultRangeTolerance)
    {
    }

    /// <summary>Creates the base with a range tolerance of your own.</summary>
    /// <param name="rangeTolerance">How far outside [0, 1] a pixel may lie; finite, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">The tolerance is negative, above 1 or NaN.</exception>
    protected RewardModelBase(double rangeTolerance)
    {
        RangeTolerance = ImageBatchGuard.CheckTolerance(rangeTolerance, nameof(rangeTolerance));
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract bool IsDifferentiable { get; }

    /// <summary>How far outside [0, 1] a pixel may lie before the batch is rejected; such values are scored as they are.</summary>
    public double RangeTolerance { get; }

    /// <summary>
    /// Scores a batch of images. Returns shape [B], float32 (float64 when the images are float64),
    /// on the images' device; differentiable with respect to the images when
    /// <see cref="IsDifferentiable"/> is true and they require grad.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">Wrong shape, dtype or prompt count, or NaN/infinite pixels.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Pixels outside [0, 1] beyond <see cref="RangeTolerance"/>.</exception>
    /// <exception cref="NonFiniteValueException">The reward produced NaN or infinity.</exception>
    public Tensor Score(Tensor images, IReadOnlyList<string> prompts)
    {
        ImageBatchGuard.Validate(images, prompts, RangeTolerance);
        using var scope = NewDisposeScope();
        var computeType = ImageBatchGuard.ComputeType(images);
        var rewards = ScoreValidated(images.to(computeType), prompts);
        var batch = images.shape[0];
        if (rewards.dim() != 1 || rewards.shape[0] != batch)
            throw new InvalidOperationException(
                $"Reward '{Name}' returned shape [{string.Join(", ", rewards.shape)}]; a reward must return one value per image, shape [{batch}].");
        NonFiniteValueException.ThrowIfNonFinite(rewards, $"the '{Name}' reward");
        return rewards.to(computeType).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Computes the rewards of a validated batch: <paramref name="images"/> is [B, 3, H, W] in
    /// [0, 1] (up to <see cref="RangeTolerance"/>), float32 or float64, and <paramref name="prompts"/> has B entries.
    /// </summary>
    /// <returns>Shape [B]. Keep the autograd graph when the reward is differentiable.</returns>
    protected abstract Tensor ScoreValidated(Tensor images, IReadOnlyList<string> prompts);
}
