using TailorPO.Core.Abstractions;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// The DPO loss on two transitions that start from DIFFERENT inputs (a [2B] batch: trajectory 0 then trajectory 1),
/// ranked by given rewards: D3PO's form (final rewards) and TailorPO's different-inputs ablation (step rewards).
/// A tie prefers neither (weight 0, no gradient).
/// </summary>
internal static class DifferentInputsPairLoss
{
    /// <summary>Log-ratios against the adapters-off reference, the pair ranked by <paramref name="reward0"/> vs <paramref name="reward1"/>, and the signals.</summary>
    public static UpdateOutcome Compute(TrainerContext context, IPairwiseLoss loss, int stepIndex, Tensor latents, Tensor next, DiffusionCondition condition,
        Tensor reward0, Tensor reward1)
    {
        var batch = (int)reward0.shape[0];
        var h = context.LogRatios(stepIndex, latents, next, condition); // [2B]
        var (h0, h1) = (h[..batch], h[batch..]);
        var secondWins = reward1.gt(reward0);
        var weight = reward0.ne(reward1).to_type(h.dtype);
        var result = loss.Compute(new PreferencePair(where(secondWins, h1, h0), where(secondWins, h0, h1), weight));
        var signals = new UpdateSignals(
            maximum(reward0, reward1).to_type(ScalarType.Float64).mean(),
            minimum(reward0, reward1).to_type(ScalarType.Float64).mean(),
            (reward0 - reward1).abs().to_type(ScalarType.Float64).mean(),
            null,
            h.detach().abs().mean());
        return new UpdateOutcome(result.Loss, result.Statistics, signals);
    }
}
