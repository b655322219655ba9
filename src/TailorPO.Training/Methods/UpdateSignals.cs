using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// What a method hands <see cref="TrainerContext.Update"/> besides the loss: device tensors (0-d, detached) read
/// once with the loss statistics. Null entries are reported as NaN.
/// </summary>
/// <param name="PreferredReward">Mean reward of the preferred samples.</param>
/// <param name="DispreferredReward">Mean reward of the dis-preferred samples.</param>
/// <param name="RewardGap">Mean |r_w - r_l|.</param>
/// <param name="GuidanceAcceptance">TailorPO-G's acceptance rate.</param>
/// <param name="LogRatioDrift">Mean |h| of the log-ratios.</param>
/// <param name="ClipFraction">
/// The fraction of samples the method's trust region clipped (DDPO's PPO clip). Null: the pairwise loss statistics'
/// clamped fraction, when the update has them.
/// </param>
/// <param name="GuidanceNonFinite">TailorPO-G: the count of guided x^+ that were not finite and were rejected.</param>
public sealed record UpdateSignals(
    Tensor? PreferredReward = null,
    Tensor? DispreferredReward = null,
    Tensor? RewardGap = null,
    Tensor? GuidanceAcceptance = null,
    Tensor? LogRatioDrift = null,
    Tensor? ClipFraction = null,
    Tensor? GuidanceNonFinite = null);
