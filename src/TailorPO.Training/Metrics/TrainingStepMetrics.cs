namespace TailorPO.Training.Metrics;

/// <summary>What one update (one loss and backward pass) did. Values a method does not have are NaN.</summary>
/// <param name="Method">The method's name, e.g. "tailorpo".</param>
/// <param name="Iteration">The batch (iteration) index, from 0.</param>
/// <param name="Update">The update index over the run, from 0.</param>
/// <param name="StepIndex">The trained sampler step index (0 = noisiest), or -1 when not step-bound (Diffusion-DPO).</param>
/// <param name="Loss">The loss value.</param>
/// <param name="ImplicitAccuracy">Fraction of decided pairs with h_w &gt; h_l (DDPO: NaN).</param>
/// <param name="PreferredReward">Mean reward of the preferred samples (TailorPO: step reward; D3PO: final reward; DDPO: mean reward).</param>
/// <param name="DispreferredReward">Mean reward of the dis-preferred samples.</param>
/// <param name="RewardGap">Mean |r_w - r_l| (the step-reward gap for TailorPO).</param>
/// <param name="TiedFraction">Fraction of tied pairs (no gradient).</param>
/// <param name="GuidanceAcceptance">TailorPO-G: fraction of preferred samples whose guided x^+ was accepted; NaN otherwise.</param>
/// <param name="LogRatioDrift">Mean |h| over the pair's log-ratios: how far the policy has moved from the reference on its samples.</param>
/// <param name="GradientNorm">Global gradient norm before clipping when this update ended an optimizer step; NaN otherwise.</param>
/// <param name="Skipped">True when the loss or gradient was NaN/infinite and the update was skipped.</param>
/// <param name="Samples">Final images generated so far (the sample-budget count).</param>
/// <param name="NoiseEvaluations">Model evaluations so far (a CFG pair counts once per sample).</param>
/// <param name="WallSeconds">Seconds since the run (or the resume) started.</param>
/// <param name="ClipFraction">
/// How often the method's trust region bit: D3PO's and TailorPO's ratio clamp (the fraction of log-ratios outside
/// [log(1 - eps), log(1 + eps)]; 0 for a pairwise loss without a clamp, as Diffusion-DPO's) and DDPO's PPO clip (the
/// fraction of ratios with |r - 1| &gt; the clip range); NaN for a method whose update reports neither.
/// </param>
public sealed record TrainingStepMetrics(
    string Method,
    int Iteration,
    long Update,
    int StepIndex,
    double Loss,
    double ImplicitAccuracy,
    double PreferredReward,
    double DispreferredReward,
    double RewardGap,
    double TiedFraction,
    double GuidanceAcceptance,
    double LogRatioDrift,
    double GradientNorm,
    bool Skipped,
    long Samples,
    long NoiseEvaluations,
    double WallSeconds,
    double ClipFraction = double.NaN)
{
    /// <summary>
    /// Mean h_w - h_l over the decided pairs: the implicit-reward margin divided by beta. It moves long before the loss
    /// does (the loss is -log sigma(beta * margin), within beta * margin / 2 of ln 2 while the margin is small); NaN for
    /// DDPO.
    /// </summary>
    public double LogRatioMargin { get; init; } = double.NaN;

    /// <summary>
    /// TailorPO-G: how many guided x^+ of this update were not finite (an overflowing or NaN reward gradient) and were
    /// rejected, keeping x^w; NaN for methods without guidance.
    /// </summary>
    public double GuidanceNonFinite { get; init; } = double.NaN;
}
