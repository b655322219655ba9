using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// TailorPO and TailorPO-G (the paper's Algorithm 1). Per prompt one trajectory; at each trained step K candidates
/// from the SAME x_t, ranked by their step rewards r(c, D(x0_hat)); the best and the worst form the pair (a tie gives
/// the pair weight 0: no gradient, and the first candidate continues); TailorPO-G refines the preferred one with the
/// reward gradient; the loss (Eq. 10) is taken against the adapters-off reference and the preferred sample continues.
/// Other steps draw one candidate. The candidates' eps at the next step is reused for sampling it.
/// </summary>
/// <remarks>
/// Online (default): the update happens at each trained step as the trajectory proceeds. Collect-then-train: the
/// trajectories run first (no gradient), the ranked pairs are stored and trained on in shuffled inner epochs.
/// </remarks>
public sealed class TailorPOMethod : ITrainingMethod
{
    private readonly IPairwiseLoss _loss;
    private readonly IPreferredSampleRefiner? _refiner;

    /// <summary>Creates the method.</summary>
    /// <param name="loss">The pairwise loss of Eq. 10 (TailorPO's, or plain DPO).</param>
    /// <param name="refiner">TailorPO-G's guiding refiner (TailorPO.Guidance's <c>AddTailorPOGuidance</c>), or null for
    /// plain TailorPO.</param>
    /// <param name="pairing">Where the ranked pair comes from: the paper's same x_t (default) or Table 10's
    /// step-level ranking ablation with pairs from different inputs (not with guidance).</param>
    public TailorPOMethod(IPairwiseLoss loss, IPreferredSampleRefiner? refiner = null, TailorPOPairing pairing = TailorPOPairing.SameInput)
    {
        _loss = loss ?? throw new ArgumentNullException(nameof(loss));
        if (!Enum.IsDefined(pairing)) throw new ArgumentOutOfRangeException(nameof(pairing), pairing, "Unknown pairing.");
        _refiner = refiner;
        Pairing = pairing;
    }

    /// <summary>True for TailorPO-G (a refiner was given).</summary>
    public bool Guided => _refiner is not null;

    /// <summary>Where the ranked pair comes from.</summary>
    public TailorPOPairing Pairing { get; }

    /// <inheritdoc />
    public string Name => Guided ? "tailorpo-g" : Pairing == TailorPOPairing.DifferentInputs ? "tailorpo-different-inputs" : "tailorpo";

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = context.Options;
        var problems = MethodRequirements.LogProbabilities(context, Name).ToList();
        var used = new List<string> { nameof(o.LoopMode), nameof(o.Candidates), "Loss.Kind" };
        if (o.EffectiveLoopMode == TrainingLoopMode.CollectThenTrain) used.AddRange([nameof(o.CollectBatches), nameof(o.InnerEpochs)]);
        if (!Guided) used.Add(nameof(o.Pairing));
        problems.AddRange(MethodRequirements.UnusedOptions(context, Name, [.. used]));
        if (_refiner is { IsGuiding: false })
            problems.Add("TailorPO-G needs a guiding refiner (AddTailorPOGuidance with Enabled = true and a differentiable reward).");
        if (context.Core.Loss.Kind is not (PreferenceLossKind.TailorPO or PreferenceLossKind.Dpo))
            problems.Add($"TailorPOCoreOptions.Loss.Kind = {context.Core.Loss.Kind} does not apply to {Name}: it trains with the TailorPO (or plain DPO) loss.");
        if (Pairing == TailorPOPairing.DifferentInputs)
        {
            if (o.EffectiveLoopMode != TrainingLoopMode.Online)
                problems.Add($"TailorPOTrainingOptions.Pairing DifferentInputs runs only in the Online loop; got {o.EffectiveLoopMode}.");
            if (o.Candidates != 2)
                problems.Add($"TailorPOTrainingOptions.Pairing DifferentInputs pairs exactly two trajectories, so Candidates must be 2; got {o.Candidates}.");
        }
        return problems;
    }

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Pairing == TailorPOPairing.DifferentInputs)
        {
            if (context.Options.EffectiveLoopMode != TrainingLoopMode.Online)
                throw new InvalidOperationException("TailorPO with pairs from different inputs runs only in the Online loop.");
            DifferentInputsTrajectories(context, prompts, cancellationToken);
            return;
        }
        if (context.Options.EffectiveLoopMode == TrainingLoopMode.Online)
        {
            Trajectory(context, prompts, stored: null, cancellationToken);
            return;
        }
        CollectThenTrain.Run<StoredPair>(context, prompts, (batch, stored) => Trajectory(context, batch, stored, cancellationToken), pair =>
        {
            using var conditionScope = NewDisposeScope();
            var condition = context.Encode(pair.Prompts);
            context.Update(pair.StepIndex, () => Loss(context, pair.Latents, pair.Preferred, pair.Dispreferred, pair.Weight,
                pair.StepIndex, condition, pair.Signals));
        }, cancellationToken);
    }

    /// <summary>One trajectory: online (<paramref name="stored"/> null) it updates at each trained step; otherwise it stores the pairs.</summary>
    private void Trajectory(TrainerContext context, IReadOnlyList<string> prompts, List<StoredPair>? stored, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var condition = context.Encode(prompts);
        var latents = context.InitialNoise(prompts.Count);
        Tensor? noise = null;
        var sampler = context.Sampler;
        for (var s = 0; s < sampler.Timesteps.Count; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!context.TrainedSteps.Contains(s))
            {
                (latents, noise) = StepWithoutTraining(context, latents, s, condition, noise);
                continue;
            }

            var x = latents;
            var reused = noise;
            Ranked? ranked = null;
            if (stored is null)
            {
                context.Update(s, () =>
                {
                    ranked = Rank(context, x, s, condition, reused);
                    var outcome = Loss(context, x, ranked.Winner, ranked.Dispreferred, ranked.Weight, s, condition, ranked.Signals);
                    ranked.MoveOut();
                    return outcome;
                });
            }
            else
            {
                using var stepScope = NewDisposeScope();
                using var noGrad = no_grad();
                ranked = Rank(context, x, s, condition, reused);
                stored.Add(new StoredPair(prompts, s, StoredTensor.Keep(x), StoredTensor.Keep(ranked.Winner), StoredTensor.Keep(ranked.Dispreferred), StoredTensor.Keep(ranked.Weight),
                    new UpdateSignals(StoredTensor.Keep(ranked.Signals.PreferredReward!), StoredTensor.Keep(ranked.Signals.DispreferredReward!),
                        StoredTensor.Keep(ranked.Signals.RewardGap!), KeepIfAny(ranked.Signals.GuidanceAcceptance),
                        GuidanceNonFinite: KeepIfAny(ranked.Signals.GuidanceNonFinite))));
                ranked.MoveOut();
            }
            (latents, noise) = (ranked!.Winner, ranked.WinnerNoise);
        }
        context.AddSamples(prompts.Count);
    }

    /// <summary>
    /// A step that is not trained: one sample without gradient (reusing the noise prediction the previous step's scoring
    /// made, if any); the next step predicts afresh.
    /// </summary>
    private static (Tensor Latents, Tensor? Noise) StepWithoutTraining(TrainerContext context, Tensor latents, int stepIndex,
        DiffusionCondition condition, Tensor? noise)
    {
        using var stepScope = NewDisposeScope();
        var step = context.Sampler.Step(latents, stepIndex, condition, 1, context.Generator, noise);
        return (step.Candidates[0].MoveToOuterDisposeScope(), null);
    }

    /// <summary>
    /// Table 10's step-level ranking ablation: two trajectories per prompt from different x_T ([2B] batch: trajectory 0
    /// then trajectory 1); at each trained step one sample each, ranked by step reward; the loss compares log-ratios
    /// conditioned on their two different inputs; both trajectories continue.
    /// </summary>
    private void DifferentInputsTrajectories(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var batch = prompts.Count;
        var condition = context.Encode(prompts).RepeatBatch(2);
        var latents = cat([context.InitialNoise(batch), context.InitialNoise(batch)]);
        Tensor? noise = null;
        var sampler = context.Sampler;
        for (var s = 0; s < sampler.Timesteps.Count; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!context.TrainedSteps.Contains(s))
            {
                (latents, noise) = StepWithoutTraining(context, latents, s, condition, noise);
                continue;
            }
            var x = latents;
            var reused = noise;
            Tensor? next = null, nextNoise = null;
            context.Update(s, () =>
            {
                Tensor sample, rewards;
                using (no_grad())
                {
                    sample = sampler.Step(x, s, condition, 1, context.Generator, reused).Candidates[0];   // [2B]
                    var scored = context.StepRewards.ScoreCandidates(sampler, sample.unsqueeze(0), s, condition);
                    rewards = scored.Rewards[0].detach();                                                    // [2B]
                    nextNoise = scored.NoisePredictions?[0];
                }
                var outcome = DifferentInputsPairLoss.Compute(context, _loss, s, x, sample, condition, rewards[..batch], rewards[batch..]);
                next = sample.detach().MoveToOuterDisposeScope();
                nextNoise = nextNoise?.detach().MoveToOuterDisposeScope();
                return outcome;
            });
            (latents, noise) = (next!, nextNoise);
        }
        context.AddSamples(2 * batch);
    }


    /// <summary>Draws K candidates from x_t, scores and ranks them, and refines the preferred one (TailorPO-G).</summary>
    private Ranked Rank(TrainerContext context, Tensor latents, int stepIndex, DiffusionCondition condition, Tensor? noise)
    {
        var k = context.Options.Candidates;
        var sampler = context.Sampler;
        var step = sampler.Step(latents, stepIndex, condition, k, context.Generator, noise);
        var scored = context.StepRewards.ScoreCandidates(sampler, step.Candidates, stepIndex, condition);
        var rewards = scored.Rewards.detach();                                  // [K, B]
        var best = rewards.argmax(0);                                           // [B]
        var worst = rewards.argmin(0);
        var bestReward = rewards.max(0).values;
        var worstReward = rewards.min(0).values;
        // A tie (every candidate scored the same) prefers nobody: weight 0, no gradient.
        var weight = bestReward.gt(worstReward).to_type(ScalarType.Float32);
        var preferred = Pick(step.Candidates, best);
        var dispreferred = Pick(step.Candidates, worst);
        var preferredNoise = scored.NoisePredictions is null ? null : Pick(scored.NoisePredictions, best);

        var winner = preferred;
        var winnerNoise = preferredNoise;
        Tensor? acceptance = null, nonFinite = null;
        if (_refiner is not null)
        {
            var refined = _refiner.Refine(sampler, preferred, stepIndex, condition);
            winner = refined.Sample;
            // A guided sample moved, so its candidate's eps no longer applies; the refiner returns the new one when reusable.
            winnerNoise = refined.NextNoisePrediction;
            if (refined.Report is { } report)
            {
                acceptance = report.Accepted.to_type(ScalarType.Float64).mean();
                // Counted on the device: the count reaches the host with the update's other metrics, in its one read.
                nonFinite = report.NonFinite is { } mask ? mask.to_type(ScalarType.Float64).sum() : zeros([], ScalarType.Float64, bestReward.device);
            }
        }
        var signals = new UpdateSignals(bestReward.to_type(ScalarType.Float64).mean(), worstReward.to_type(ScalarType.Float64).mean(),
            (bestReward - worstReward).to_type(ScalarType.Float64).mean(), acceptance, GuidanceNonFinite: nonFinite);
        return new Ranked(winner, dispreferred, weight, winnerNoise, signals);
    }

    /// <summary>Eq. 10 on the pair: both log-ratios share x_t, so one policy and one reference mean serve both.</summary>
    private UpdateOutcome Loss(TrainerContext context, Tensor latents, Tensor preferred, Tensor dispreferred, Tensor weight,
        int stepIndex, DiffusionCondition condition, UpdateSignals signals)
    {
        var logRatios = context.LogRatios(stepIndex, latents, stack([preferred, dispreferred]), condition); // [2, B]
        var result = _loss.Compute(new PreferencePair(logRatios[0], logRatios[1], weight.to_type(logRatios.dtype)));
        return new UpdateOutcome(result.Loss, result.Statistics, signals with { LogRatioDrift = logRatios.detach().abs().mean() });
    }

    private static Tensor? KeepIfAny(Tensor? signal) => signal is null ? null : StoredTensor.Keep(signal);

    private static Tensor Pick(Tensor candidates, Tensor index)
    {
        // candidates [K, B, ...], index [B] -> [B, ...]
        var batch = candidates.shape[1];
        var shape = new long[] { 1, batch }.Concat(Enumerable.Repeat(1L, (int)candidates.dim() - 2)).ToArray();
        var gathered = candidates.gather(0, index.reshape(shape).expand([1, .. candidates.shape[1..]]));
        return gathered.squeeze(0);
    }

    private sealed class Ranked(Tensor winner, Tensor dispreferred, Tensor weight, Tensor? winnerNoise, UpdateSignals signals)
    {
        public Tensor Winner { get; private set; } = winner;
        public Tensor Dispreferred { get; } = dispreferred;
        public Tensor Weight { get; } = weight;
        public Tensor? WinnerNoise { get; private set; } = winnerNoise;
        public UpdateSignals Signals { get; } = signals;

        /// <summary>The continuing sample and its eps leave the update's scope (detached: data for the next step).</summary>
        public void MoveOut()
        {
            Winner = Winner.detach().MoveToOuterDisposeScope();
            WinnerNoise = WinnerNoise?.detach().MoveToOuterDisposeScope();
        }
    }

    private sealed record StoredPair(IReadOnlyList<string> Prompts, int StepIndex, Tensor Latents, Tensor Preferred, Tensor Dispreferred,
        Tensor Weight, UpdateSignals Signals) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new[] { Latents, Preferred, Dispreferred, Weight, Signals.PreferredReward, Signals.DispreferredReward, Signals.RewardGap, Signals.GuidanceAcceptance, Signals.GuidanceNonFinite })
                t?.Dispose();
        }
    }
}
