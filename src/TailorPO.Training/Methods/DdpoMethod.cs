using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// DDPO (PPO-clip, kvablack/ddpo-pytorch): trajectories sampled with the current weights, rewards normalised into
/// advantages with per-prompt statistics (or batch statistics), and the clipped surrogate on the stored log-probabilities
/// at the trained steps, in shuffled inner epochs. It trains the same T_finetune steps as the other methods (ddpo-pytorch's
/// timestep fraction), so every method spends a comparable number of updates per sample.
/// </summary>
public sealed class DdpoMethod(DdpoClipObjective objective, PerPromptStatTracker tracker, bool perPromptStatistics) : ITrainingMethod
{
    private readonly DdpoClipObjective _objective = objective ?? throw new ArgumentNullException(nameof(objective));

    /// <summary>The per-prompt reward statistics (saved in checkpoints).</summary>
    public PerPromptStatTracker Tracker { get; } = tracker ?? throw new ArgumentNullException(nameof(tracker));

    /// <inheritdoc />
    public string Name => "ddpo";

    /// <inheritdoc />
    public int SamplesPerIteration(int batchSize) => batchSize;

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
                    LogRatioDrift: (score.LogProbability.detach() - item.OldLogProbability).abs().mean());
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
        double[] advantages;
        if (perPromptStatistics)
        {
            advantages = Tracker.Update(prompts, values);
        }
        else
        {
            var mean = values.Average();
            var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            advantages = values.Select(v => (v - mean) / (std + PerPromptStatTracker.StdEpsilon)).ToArray();
        }
        var advantageTensor = tensor(advantages, ScalarType.Float32).to(latents.device);
        foreach (var (s, x, next, logp) in steps)
            stored.Add(new Stored(prompts, s, Keep(x), Keep(next), Keep(logp), Keep(advantageTensor), Keep(rewards)));
    }

    private static Tensor Keep(Tensor t) => t.detach().clone().DetachFromDisposeScope();

    private sealed record Stored(IReadOnlyList<string> Prompts, int StepIndex, Tensor Latents, Tensor Next, Tensor OldLogProbability,
        Tensor Advantages, Tensor Rewards) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new[] { Latents, Next, OldLogProbability, Advantages, Rewards }) t.Dispose();
        }
    }
}
