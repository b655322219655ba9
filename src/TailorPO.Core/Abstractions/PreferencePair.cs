using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// The log-ratios of a preferred (w) and a dis-preferred (l) response, shape [B] each, with an optional
/// per-pair weight. Keeps the autograd graph of the inputs; the caller owns the tensors.
/// </summary>
/// <param name="PreferredLogRatio">h_w = log pi_theta(y_w) - log pi_ref(y_w), shape [B].</param>
/// <param name="DispreferredLogRatio">h_l = log pi_theta(y_l) - log pi_ref(y_l), shape [B].</param>
/// <param name="Weight">Optional per-pair weight in [0, 1], shape [B] (detached). A pair of weight 0 is a TIE:
/// neither response is preferred, so it contributes the constant log 2 and no gradient (the library's rule,
/// as the d3po code); fractional weights interpolate. Null means every pair is decided (weight 1).</param>
public sealed record PreferencePair(Tensor PreferredLogRatio, Tensor DispreferredLogRatio, Tensor? Weight = null);
