using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// DDPO (PPO-clip, kvablack/ddpo-pytorch): trajectories sampled with the current weights, rewards normalised into
/// advantages with per-prompt statistics (or batch statistics), and the clipped surrogate on the stored log-probabilities
/// at the trained steps, in shuffled inner epochs. It trains the same T_finetune steps as the other methods (ddpo-pytorch's
/// timestep fraction), so every method spends a comparable number of updates per sample.
/// </summary>
/// <remarks>Its per-prompt statistics are part of its state (<see cref="IStatefulComponent"/>): checkpoints carry them.</remarks>
/// <param name="objective">The clipped surrogate.</param>
/// <param name="tracker">The per-prompt reward statistics.</param>
/// <param name="perPromptStatistics">Normalise by per-prompt statistics (ddpo-pytorch's default) or by the batch's.</param>
public sealed class DdpoMethod(DdpoClipObjective objective, PerPromptStatTracker tracker, bool perPromptStatistics) : ITrainingMethod, IStatefulComponent
{
    private readonly DdpoClipObjective _objective = objective ?? throw new ArgumentNullException(nameof(objective));

    /// <summary>The per-prompt reward statistics (saved in checkpoints).</summary>
    public PerPromptStatTracker Tracker { get; } = tracker ?? throw new ArgumentNullException(nameof(tracker));

    /// <inheritdoc />
    public string Name => "ddpo";

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = context.Options;
        foreach (var problem in MethodRequirements.LogProbabilities(context, Name)) yield return problem;
        foreach (var problem in MethodRequirements.UnusedOptions(context, Name, nameof(o.LoopMode), nameof(o.CollectBatches), nameof(o.InnerEpochs)))
            yield return problem;
        if (o.EffectiveLoopMode == TrainingLoopMode.Online)
            yield return $"TailorPOTrainingOptions.LoopMode Online needs a step-level method; {Name} ranks whole trajectories, so use CollectThenTrain.";
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> ExportState() => Tracker.ExportState();

    /// <inheritdoc />
    public void ImportState(IReadOnlyDictionary<string, double[]> state) => Tracker.ImportState(state);

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        CollectThenTrain.Run<Stored>(context, prompts, (batch, stored) => Collect(context, batch, stored, cancellationToken), item =>
        {
            using var scope = NewDisposeScope();
            var condition = context.Encode(item.Prompts);
            context.Update(item.StepIndex, () =>
            {
                var score = context.Sampler.Score(new SamplerTransition(item.StepIndex, item.Latents, item.Next, item.OldLogProbability), condition);
                var result = _objective.Compute(score.LogProbability, item.OldLogProbability, item.Advantages);
                var signals = new UpdateSignals(item.Rewards.to_type(ScalarType.Float64).mean(),
                    LogRatioDrift: (score.LogProbability.detach() - item.OldLogProbability).abs().mean(),
                    ClipFraction: result.Statistics[1]);
                return new UpdateOutcome(result.Loss, null, signals);
            });
        }, cancellationToken);
    }

    private void Collect(TrainerContext context, IReadOnlyList<string> prompts, List<Stored> stored, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var condition = context.Encode(prompts);
        var latents = context.InitialNoise(prompts.Count);
        var steps = new List<(int StepIndex, Tensor Latents, Tensor Next, Tensor LogProbability)>();
        for (var s = 0; s < context.Sampler.Timesteps.Count; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = context.Sampler.Step(latents, s, condition, 1, context.Generator);
            if (context.TrainedSteps.Contains(s)) steps.Add((s, latents, step.Candidates[0], step.LogProbabilities[0]));
            latents = step.Candidates[0];
        }
        var rewards = context.Reward.Score(context.Decoder.DecodeToImages(latents), prompts).to_type(ScalarType.Float64);
        context.AddSamples(prompts.Count);
        // The statistics live on the host (one read per collected batch, as ddpo-pytorch).
        var values = rewards.cpu().data<double>().ToArray();
        var advantages = perPromptStatistics ? Tracker.Update(prompts, values) : PerPromptStatTracker.BatchAdvantages(values);
        var advantageTensor = tensor(advantages, ScalarType.Float32).to(latents.device);
        foreach (var (s, x, next, logp) in steps)
            stored.Add(new Stored(prompts, s, StoredTensor.Keep(x), StoredTensor.Keep(next), StoredTensor.Keep(logp), StoredTensor.Keep(advantageTensor), StoredTensor.Keep(rewards)));
    }


    private sealed record Stored(IReadOnlyList<string> Prompts, int StepIndex, Tensor Latents, Tensor Next, Tensor OldLogProbability,
        Tensor Advantages, Tensor Rewards) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new[] { Latents, Next, OldLogProbability, Advantages, Rewards }) t.Dispose();
        }
    }
}
