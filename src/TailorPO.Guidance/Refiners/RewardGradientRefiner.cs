using TailorPO.Core.Abstractions;
using TailorPO.Core.Errors;
using TailorPO.Guidance.Schedules;
using static TorchSharp.torch;

namespace TailorPO.Guidance.Refiners;

/// <summary>
/// TailorPO-G's reward-gradient guidance of the preferred sample (Eq. 13-14, Algorithm 1):
/// <code>
/// r_high = r_t(c, x^w) + delta                                  (detached: a constant)
/// x^+    = x^w - eta_t * grad_{x^w} (r_high - r_t(c, x^w))^2     (= x^w + 2 eta_t delta grad r_t at x^w)
/// keep x^+ only where r_t(c, x^+) &gt; r_t(c, x^w)                 (Algorithm 1, lines 7-8)
/// </code>
/// with <c>r_t(c, x) = r(c, D(x0_hat(x)))</c> and <c>x0_hat(x) = sampler.PredictOriginal(x, s + 1,
/// sampler.PredictNoise(x, s + 1, c))</c> for candidates drawn at step index s, so the gradient flows
/// through the noise predictor (with the sampling CFG), the decoder and the reward. At the last step
/// (s + 1 past the end) the candidates are x_0 and r_t(c, x) = r(c, D(x)).
/// </summary>
/// <remarks>
/// <para>Batch elements are independent: the objective is the SUM of the per-element squared gaps, so
/// each element's gradient is its own. The gradient is taken with <c>torch.autograd.grad</c> with
/// respect to x^w only, so nothing accumulates in the model's parameter gradients.</para>
/// <para>The acceptance check scores x^w, x^+ (and x^-) in ONE batched call without gradient, so the
/// compared rewards come from the same evaluation; the eps of that call is returned for reuse.</para>
/// </remarks>
public sealed class RewardGradientRefiner : IPreferredSampleRefiner
{
    /// <summary>The paper's reward increment delta.</summary>
    public const double PaperDelta = 0.5;

    /// <summary>Creates the refiner.</summary>
    /// <param name="estimator">The step-reward estimator; its reward must be differentiable.</param>
    /// <param name="schedule">eta_t; the paper's is <see cref="CosineGuidanceSchedule"/> in [0.1, 0.2].</param>
    /// <param name="delta">r_high - r_t(c, x^w); finite and &gt; 0. Default 0.5 (the paper's).</param>
    /// <param name="requireImprovement">Algorithm 1's check: keep x^+ only where it raises the step reward.
    /// Default true; false always keeps x^+ (an ablation).</param>
    /// <param name="computeOpposite">Also compute x^- (the sign-flipped step) and its reward, as the paper's
    /// Table 1 does. Default false (it costs a larger evaluation batch).</param>
    /// <exception cref="NonDifferentiableRewardException">The estimator's reward is not differentiable.</exception>
    public RewardGradientRefiner(IStepRewardEstimator estimator, IGuidanceSchedule schedule, double delta = PaperDelta,
        bool requireImprovement = true, bool computeOpposite = false)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(schedule);
        if (estimator.Reward is null)
            throw new ArgumentException("The step-reward estimator has no reward model.", nameof(estimator));
        if (!estimator.Reward.IsDifferentiable)
            throw new NonDifferentiableRewardException(estimator.Reward.Name);
        if (!double.IsFinite(delta) || delta <= 0)
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta (r_high - r_t(c, x^w)) must be finite and > 0; the paper uses 0.5.");
        Estimator = estimator;
        Schedule = schedule;
        Delta = delta;
        RequireImprovement = requireImprovement;
        ComputeOpposite = computeOpposite;
    }

    /// <summary>The step-reward estimator.</summary>
    public IStepRewardEstimator Estimator { get; }

    /// <summary>The eta_t schedule.</summary>
    public IGuidanceSchedule Schedule { get; }

    /// <summary>The reward increment delta.</summary>
    public double Delta { get; }

    /// <summary>Whether x^+ is kept only where it raises the step reward (Algorithm 1).</summary>
    public bool RequireImprovement { get; }

    /// <summary>Whether x^- is computed too.</summary>
    public bool ComputeOpposite { get; }

    /// <inheritdoc />
    public bool IsGuiding => true;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Bad shapes, step index or prompt count.</exception>
    /// <exception cref="NonFiniteValueException">The step reward of x^w itself is NaN or infinite.</exception>
    /// <remarks>An element whose x^+ (or whose reward of x^+) is not finite - an overflowing or NaN gradient - keeps x^w:
    /// the acceptance check rejects it whatever <see cref="RequireImprovement"/> says, and
    /// <see cref="GuidanceStepReport.NonFinite"/> counts it.</remarks>
    public PreferredSampleRefinement Refine(ISampler sampler, Tensor preferred, int stepIndex, DiffusionCondition condition)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(preferred);
        ArgumentNullException.ThrowIfNull(condition);
        if (preferred.dim() < 2 || preferred.shape.Any(s => s < 1))
            throw new ArgumentException($"preferred has shape [{string.Join(", ", preferred.shape)}]; expected the preferred candidates [B, C, h, w].", nameof(preferred));
        if (!preferred.is_floating_point())
            throw new ArgumentException($"preferred has dtype {preferred.dtype}; expected a floating-point tensor.", nameof(preferred));
        var stepCount = sampler.Timesteps.Count;
        if (stepIndex < 0 || stepIndex >= stepCount)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex, $"stepIndex (the step that drew the candidates) must lie in [0, {stepCount - 1}].");
        var batch = preferred.shape[0];
        if (condition.Prompts.Count != batch)
            throw new ArgumentException($"condition has {condition.Prompts.Count} prompt(s) but preferred holds {batch} sample(s); pass one prompt per sample.", nameof(condition));

        using var scope = NewDisposeScope();
        var eta = Schedule.EtaAt(stepIndex, stepCount);
        if (!double.IsFinite(eta) || eta <= 0)
            throw new InvalidOperationException($"The guidance schedule returned eta = {eta} at step {stepIndex} of {stepCount}; it must be finite and > 0.");
        var xw = preferred.detach();

        var gradient = ObjectiveGradient(sampler, xw, stepIndex, condition);
        var proposal = (xw - eta * gradient).detach();
        var opposite = ComputeOpposite ? (xw + eta * gradient).detach() : null;
        long[] elementShape = [batch, .. Enumerable.Repeat(1L, (int)xw.dim() - 1)];
        // A non-finite x^+ or x^- (an overflowing or NaN gradient) is scored as x^w, so the model never sees it, and rejected.
        var proposalFinite = FiniteElements(proposal);
        var oppositeFinite = opposite is null ? null : FiniteElements(opposite);

        // Acceptance check: x^w, x^+ (and x^-) in ONE evaluation.
        Tensor rewards;
        Tensor? noise;
        var copies = opposite is null ? 2 : 3;
        using (no_grad())
        {
            var scoredProposal = where(proposalFinite.reshape(elementShape), proposal, xw);
            var stacked = opposite is null
                ? stack([xw, scoredProposal])
                : stack([xw, scoredProposal, where(oppositeFinite!.reshape(elementShape), opposite, xw)]);
            var scored = Estimator.ScoreCandidates(sampler, stacked, stepIndex, condition);
            (rewards, noise) = (scored.Rewards.detach(), scored.NoisePredictions);
        }
        var preferredReward = rewards[0];
        NonFiniteValueException.ThrowIfNonFinite(preferredReward, "the step reward of x^w in the guidance acceptance check");
        var proposalValid = proposalFinite.logical_and(rewards[1].isfinite());
        var proposalReward = where(proposalValid, rewards[1], full_like(rewards[1], double.NaN));
        var accepted = RequireImprovement ? proposalValid.logical_and(proposalReward.gt(preferredReward)) : proposalValid;
        var mask = accepted.reshape(elementShape);
        var sample = where(mask, proposal, xw);
        Tensor? nextNoise = null;
        if (noise is not null)
        {
            var perCopy = noise.detach().reshape([copies, .. xw.shape]);
            nextNoise = where(mask, perCopy[1], perCopy[0]).MoveToOuterDisposeScope();
        }

        var report = new GuidanceStepReport(
            eta,
            Delta,
            proposal.MoveToOuterDisposeScope(),
            opposite?.MoveToOuterDisposeScope(),
            preferredReward.MoveToOuterDisposeScope(),
            proposalReward.MoveToOuterDisposeScope(),
            opposite is null ? null : where(oppositeFinite!.logical_and(rewards[2].isfinite()), rewards[2], full_like(rewards[2], double.NaN)).MoveToOuterDisposeScope(),
            accepted.MoveToOuterDisposeScope())
        {
            NonFinite = proposalValid.logical_not().MoveToOuterDisposeScope(),
        };
        return new PreferredSampleRefinement(sample.MoveToOuterDisposeScope(), nextNoise, report);
    }

    /// <summary>grad_{x} sum_b (r_high_b - r_t(c_b, x_b))^2 with r_high = r_t(c, x).detach() + delta.</summary>
    private Tensor ObjectiveGradient(ISampler sampler, Tensor xw, int stepIndex, DiffusionCondition condition)
    {
        // Own scope: the graph through the noise predictor, decoder and reward is freed as soon as the gradient exists.
        using var scope = NewDisposeScope();
        using var gradMode = enable_grad();
        var x = xw.clone().requires_grad_(true);
        var reward = Estimator.ScoreCandidates(sampler, x.unsqueeze(0), stepIndex, condition).Rewards[0];
        if (!reward.requires_grad)
            throw new InvalidOperationException(
                $"Reward '{Estimator.Reward.Name}' claims to be differentiable but its step reward carries no gradient with respect to the sample; " +
                "check that the reward, the decoder and the noise predictor do not detach or run under no_grad.");
        var target = reward.detach() + Delta;
        var objective = (target - reward).square().sum();
        // A non-finite gradient is not an error here: the x^+ it makes is rejected by the acceptance check.
        return autograd.grad([objective], [x])[0].detach().MoveToOuterDisposeScope();
    }

    /// <summary>Per batch element, whether every value is finite (bool, [B]).</summary>
    private static Tensor FiniteElements(Tensor x) => x.isfinite().flatten(1).all(1);
}
