using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Improves the preferred candidate x^w_{t-1} after ranking, before it enters the loss and continues
/// the trajectory: TailorPO-G's reward-gradient step (TailorPO.Guidance's <c>RewardGradientRefiner</c>) or nothing
/// for plain TailorPO (TailorPO.Guidance's <c>NoOpRefiner</c>).
/// </summary>
public interface IPreferredSampleRefiner
{
    /// <summary>True when <see cref="Refine"/> may change the sample (false for a no-op refiner).</summary>
    bool IsGuiding { get; }

    /// <summary>Refines the preferred candidates of one step.</summary>
    /// <param name="sampler">The sampler that drew the candidates; its noise predictor gives x0_hat.</param>
    /// <param name="preferred">x^w_{t-1}, shape [B, C, h, w] (it need not require grad).</param>
    /// <param name="stepIndex">The step index of x_t, i.e. of the step that DREW the candidates. x0_hat of
    /// x^w is evaluated at <c>stepIndex + 1</c>; at the last step x^w is x_0 itself.</param>
    /// <param name="condition">The batch's condition (B prompts, embeddings, CFG scale as when sampling).</param>
    PreferredSampleRefinement Refine(ISampler sampler, Tensor preferred, int stepIndex, DiffusionCondition condition);
}
