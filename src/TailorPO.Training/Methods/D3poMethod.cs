using TailorPO.Core.Abstractions;
using TailorPO.Training.Options;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// D3PO (Eq. 5): per prompt two trajectories (from one x_T by default, as the d3po code), ranked by their final
/// rewards; at each trained step the DPO loss on the two transitions x^w_t -&gt; x^w_{t-1} and x^l_t -&gt; x^l_{t-1},
/// conditioned on DIFFERENT inputs, with the ratio clamp. Collect-then-train: the batch is sampled first (the ranking
/// needs the final images), then trained on in shuffled inner epochs. Ties give no gradient.
/// </summary>
/// <param name="loss">D3PO's loss (DPO with the ratio clamp; Core's keyed "d3po" loss).</param>
public sealed class D3poMethod(IPairwiseLoss loss) : ITrainingMethod
{
    private readonly IPairwiseLoss _loss = loss ?? throw new ArgumentNullException(nameof(loss));

    /// <inheritdoc />
    public string Name => "d3po";

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = context.Options;
        foreach (var problem in MethodRequirements.LogProbabilities(context, Name)) yield return problem;
        foreach (var problem in MethodRequirements.UnusedOptions(context, Name, nameof(o.LoopMode), nameof(o.CollectBatches), nameof(o.InnerEpochs), nameof(o.D3poSameInitialNoise)))
            yield return problem;
        if (o.EffectiveLoopMode == TrainingLoopMode.Online)
            yield return $"TailorPOTrainingOptions.LoopMode Online needs a step-level method; {Name} ranks whole trajectories, so use CollectThenTrain.";
    }

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        CollectThenTrain.Run<Stored>(context, prompts, (batch, stored) => Collect(context, batch, stored, cancellationToken), item =>
        {
            using var scope = NewDisposeScope();
            var condition = context.Encode(item.Prompts).RepeatBatch(2);
            context.Update(item.StepIndex, () => Loss(context, item, condition));
        }, cancellationToken);
    }

    private static void Collect(TrainerContext context, IReadOnlyList<string> prompts, List<Stored> stored, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = prompts.Count;
        var condition = context.Encode(prompts).RepeatBatch(2);
        var first = context.InitialNoise(batch);
        var second = context.Options.D3poSameInitialNoise ? first.clone() : context.InitialNoise(batch);
        var latents = cat([first, second]);  // [2B]: trajectory 0 then trajectory 1
        var steps = new List<(int StepIndex, Tensor Latents, Tensor Next)>();
        for (var s = 0; s < context.Sampler.Timesteps.Count; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var next = context.Sampler.Step(latents, s, condition, 1, context.Generator).Candidates[0];
            if (context.TrainedSteps.Contains(s)) steps.Add((s, latents, next));
            latents = next;
        }
        var rewards = context.Reward.Score(context.Decoder.DecodeToImages(latents), condition.Prompts).to_type(ScalarType.Float32);
        context.AddSamples(2 * batch);
        foreach (var (s, x, next) in steps)
            stored.Add(new Stored(prompts, s, StoredTensor.Keep(x), StoredTensor.Keep(next), StoredTensor.Keep(rewards[..batch]), StoredTensor.Keep(rewards[batch..])));
    }

    private UpdateOutcome Loss(TrainerContext context, Stored item, DiffusionCondition condition) =>
        DifferentInputsPairLoss.Compute(context, _loss, item.StepIndex, item.Latents, item.Next, condition, item.Reward0, item.Reward1);


    private sealed record Stored(IReadOnlyList<string> Prompts, int StepIndex, Tensor Latents, Tensor Next, Tensor Reward0, Tensor Reward1) : IDisposable
    {
        public void Dispose()
        {
            Latents.Dispose();
            Next.Dispose();
            Reward0.Dispose();
            Reward1.Dispose();
        }
    }
}
