using static TorchSharp.torch;

namespace TailorPO.Core.Abstractions;

/// <summary>
/// Diagnostics of one TailorPO-G step (Eq. 14 and Algorithm 1). The three rewards come from ONE
/// batched evaluation, so they are comparable even for stateful rewards. Tensors are detached.
/// </summary>
/// <param name="Eta">The step size eta_t used.</param>
/// <param name="Delta">The reward increment delta of r_high = r_t(c, x^w) + delta.</param>
/// <param name="Proposal">x^+ = x^w - eta_t * grad (r_high - r_t(c, x^w))^2, [B, C, h, w].</param>
/// <param name="Opposite">x^- = x^w + eta_t * grad (the sign-flipped step, for analysis as in Table 1), or null when not requested.</param>
/// <param name="PreferredReward">r_t(c, x^w), [B].</param>
/// <param name="ProposalReward">r_t(c, x^+), [B]; NaN where x^+ was not finite (<see cref="NonFinite"/>).</param>
/// <param name="OppositeReward">r_t(c, x^-), [B] (NaN where x^- was not finite), or null.</param>
/// <param name="Accepted">Per element, whether x^+ replaced x^w (bool, [B]). Trainers average it on the device.</param>
public sealed record GuidanceStepReport(
    double Eta,
    double Delta,
    Tensor Proposal,
    Tensor? Opposite,
    Tensor PreferredReward,
    Tensor ProposalReward,
    Tensor? OppositeReward,
    Tensor Accepted)
{
    private int? _acceptedCount;
    private int? _nonFiniteCount;

    /// <summary>
    /// Per element, whether x^+ or its step reward was NaN or infinite (an overflowing or NaN gradient), so the
    /// acceptance check rejected it and x^w was kept (bool, [B]); null from refiners that do not report it.
    /// <see cref="ProposalReward"/> is NaN there.
    /// </summary>
    public Tensor? NonFinite { get; init; }

    /// <summary>How many elements had a non-finite x^+ (a host read on first access; 0 when <see cref="NonFinite"/> is null).</summary>
    public int NonFiniteCount => _nonFiniteCount ??= NonFinite is null ? 0 : (int)NonFinite.sum().item<long>();

    /// <summary>How many elements accepted x^+ (a host read on first access: the refinement itself makes none).</summary>
    public int AcceptedCount => _acceptedCount ??= (int)Accepted.sum().item<long>();

    /// <summary>The fraction of elements that accepted x^+ (a host read on first access).</summary>
    public double AcceptanceRate => AcceptedCount / (double)Accepted.shape[0];
}
