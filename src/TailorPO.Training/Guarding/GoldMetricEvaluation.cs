using System.Text.Json.Serialization;

namespace TailorPO.Training.Guarding;

/// <summary>A row of the guard's history (one per gold-metric evaluation, plus one when the best adapters are restored).</summary>
/// <param name="Images">Final images generated when it was read.</param>
/// <param name="Iteration">Completed iterations when it was read.</param>
/// <param name="Proxy">The proxy value (the training reward's held-out mean).</param>
/// <param name="ProxyStandardError">Its standard error, or NaN.</param>
/// <param name="Gold">The gold value.</param>
/// <param name="GoldStandardError">Its standard error, or NaN.</param>
/// <param name="BestGold">The best gold value so far (this row included).</param>
/// <param name="BestImages">The images at which the best gold value was read.</param>
/// <param name="Streak">Consecutive evaluations, up to this one, in which the proxy rose while the gold fell.</param>
/// <param name="LogRatioMargin">The latest update's mean h_w - h_l (implicit-reward margin / beta), NaN before any update.</param>
/// <param name="LogRatioDrift">The latest update's mean |h|, the DPO implicit-KL drift proxy, NaN before any update.</param>
/// <param name="Event">What the row records.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)] // NaN: not known (a standard error, the drift before any update)
public sealed record GoldMetricEvaluation(
    long Images,
    int Iteration,
    double Proxy,
    double ProxyStandardError,
    double Gold,
    double GoldStandardError,
    double BestGold,
    long BestImages,
    int Streak,
    double LogRatioMargin,
    double LogRatioDrift,
    GoldMetricEvent Event);
