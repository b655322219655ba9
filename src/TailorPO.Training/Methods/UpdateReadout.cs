using TailorPO.Core.Errors;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// Everything an update reports, built on the device and brought to the host in ONE read: the loss statistics (with the
/// trust region's clip fraction), the method's signals, the gradient norm and the count of non-finite values the update's deferred checks saw. Absent
/// values read as NaN.
/// </summary>
internal readonly record struct UpdateReadout(
    double Loss, double ImplicitAccuracy, double TiedFraction,
    double PreferredReward, double DispreferredReward, double RewardGap, double GuidanceAcceptance, double LogRatioDrift,
    double GradientNorm, double NonFinite, double ClipFraction, double LogRatioMargin, double GuidanceNonFinite)
{
    /// <summary>Fuses the outcome, the norm (null before the accumulation boundary) and the deferred checks into one host read.</summary>
    public static UpdateReadout Read(UpdateOutcome outcome, Tensor? norm, DeferredFiniteChecks checks, Device device)
    {
        using var scope = NewDisposeScope();
        var nan = full([], double.NaN, ScalarType.Float64, device); // a fill on the device, no host-to-device copy
        Tensor Scalar(Tensor? t) => t is null ? nan : t.detach().to_type(ScalarType.Float64).to(device).reshape([]);
        var loss = Scalar(outcome.Loss);
        // The pairwise statistics' layout: loss, accuracy, h_w, h_l, clamped, tied.
        Tensor accuracy = nan, tied = nan, clamped = nan, margin = nan;
        if (outcome.Statistics?.Values.detach().to_type(ScalarType.Float64).to(device) is { } statistics)
            (accuracy, tied, clamped, margin) = (statistics[1], statistics[5], statistics[4], statistics[2] - statistics[3]);
        var nonFinite = checks.NonFiniteCount(device).to_type(ScalarType.Float64) + loss.isfinite().logical_not().to_type(ScalarType.Float64)
            + (norm is null ? zeros([], ScalarType.Float64, device) : norm.isfinite().logical_not().to_type(ScalarType.Float64));
        var s = outcome.Signals;
        var v = stack([loss, accuracy, tied, Scalar(s.PreferredReward), Scalar(s.DispreferredReward), Scalar(s.RewardGap),
            Scalar(s.GuidanceAcceptance), Scalar(s.LogRatioDrift), Scalar(norm), nonFinite,
            s.ClipFraction is null ? clamped : Scalar(s.ClipFraction), margin, Scalar(s.GuidanceNonFinite)]).cpu().data<double>().ToArray();
        return new UpdateReadout(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
    }

    /// <summary>Whether the loss, the gradient or a deferred check was not finite.</summary>
    public bool Skipped => NonFinite > 0;
}
