using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// The log-ratios of a preferred (w) and a dis-preferred (l) response, shape [B] each.
/// Keeps the autograd graph of the inputs; the caller owns the tensors.
/// </summary>
/// <param name="PreferredLogRatio">h_w = log pi_theta(y_w) - log pi_ref(y_w), shape [B].</param>
/// <param name="DispreferredLogRatio">h_l = log pi_theta(y_l) - log pi_ref(y_l), shape [B].</param>
public sealed record PreferencePair(Tensor PreferredLogRatio, Tensor DispreferredLogRatio);
