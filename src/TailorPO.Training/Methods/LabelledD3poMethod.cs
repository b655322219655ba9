using System.Globalization;
using TailorPO.Core.Abstractions;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// D3PO's human-feedback mode: D3PO (Eq. 5, with the ratio clamp) on a FIXED set of trajectory pairs people labelled,
/// instead of trajectories sampled during training and ranked by a reward. Each stored transition
/// x_t -&gt; x_{t-1} of the preferred and of the dis-preferred trajectory is re-scored under the current policy
/// (<see cref="ISampler.Score"/>) and the log-probability stored when it was sampled serves as the reference:
/// h = log pi_theta(x_{t-1} | x_t) - log p_stored(x_{t-1} | x_t). Nothing is regenerated and the reference model is
/// never evaluated. The stored log-probabilities must therefore come from the model being trained with the run's sampler,
/// scheduler, step count, eta and CFG scale; <see cref="Validate"/> refuses any difference, naming both values.
/// </summary>
/// <remarks>
/// Each iteration takes <c>BatchSize</c> pairs in an order drawn from the run generator (a new order for every pass over
/// the set) and makes one update per trained step (T_finetune, in a shuffled order). The order and the position in it
/// are the method's state (<see cref="IStatefulComponent"/>), kept in checkpoints, so a resumed run is bit-identical.
/// Budget rule: every pair used counts as two images, as for D3PO's two sampled trajectories. Ties are not in the set
/// (<see cref="StoredTrajectoryPairs"/> leaves them out): they carry no preference. The iteration's prompts are
/// unused; the pairs bring their own.
/// </remarks>
/// <param name="loss">D3PO's loss (Core's keyed "d3po" loss).</param>
/// <param name="pairs">The labelled pairs.</param>
public sealed class LabelledD3poMethod(IPairwiseLoss loss, ILabelledTrajectorySource pairs) : ITrainingMethod, IStatefulComponent
{
    private readonly IPairwiseLoss _loss = loss ?? throw new ArgumentNullException(nameof(loss));
    private readonly ILabelledTrajectorySource _pairs = pairs ?? throw new ArgumentNullException(nameof(pairs));
    private readonly EpochOrder _order = new("labelled D3PO");

    /// <inheritdoc />
    public string Name => "d3po";

    /// <summary>The labelled pairs trained on.</summary>
    public ILabelledTrajectorySource Pairs => _pairs;

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var problem in MethodRequirements.LogProbabilities(context, Name)) yield return problem;
        foreach (var problem in MethodRequirements.UnusedOptions(context, Name)) yield return problem;
        var run = new TrajectorySampling(TrajectorySampling.Ddim, TrajectorySampling.DescribeScheduler(context.Schedule.Config), context.Sampler.Timesteps.Count,
            context.Sampler.Eta, context.Core.Sampling.GuidanceScale, context.Sampler.Timesteps.ToArray());
        if (StoredTrajectoryPairs.Difference(_pairs.Sampling, run) is { } difference)
            yield return $"The labelled trajectories in '{_pairs.Origin}' were sampled with {difference.Mine}, but this run samples with {difference.Theirs}; " +
                "their stored log-probabilities are only a reference under the same settings, so set the run's to the export's (or generate the tasks again).";
        if (_pairs is StoredTrajectoryPairs stored && context.Options.LatentShape is { } shape
            && !stored.LatentShape.SequenceEqual(shape.Select(d => (long)d)))
            yield return string.Create(CultureInfo.InvariantCulture,
                $"The labelled trajectories in '{_pairs.Origin}' hold latents [{string.Join(", ", stored.LatentShape)}], but the model's are [{string.Join(", ", shape)}]: they come from another model.");
    }

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var batch = Math.Min(context.Options.BatchSize, _pairs.Count);
        var indices = _order.Next(context, _pairs.Count, batch);
        using var scope = NewDisposeScope();
        var pairs = _pairs.Get(indices);
        // [2B, S + 1, ...] and [2B, S]: the preferred trajectories, then the dis-preferred ones.
        var latents = cat([pairs.PreferredLatents, pairs.DispreferredLatents]).to(context.Device);
        var stored = cat([pairs.PreferredLogProbabilities, pairs.DispreferredLogProbabilities]).to(context.Device);
        var condition = context.Encode(pairs.Prompts).RepeatBatch(2);
        var steps = context.TrainedSteps.Order().ToArray();
        foreach (var s in context.Shuffle(steps.Length).Select(i => steps[i]))
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.Update(s, () =>
            {
                var reference = stored[.., s];
                var score = context.Sampler.Score(new SamplerTransition(s, latents[.., s], latents[.., s + 1], reference), condition);
                var h = score.LogProbability - reference; // [2B]
                var result = _loss.Compute(new PreferencePair(h[..batch], h[batch..]));
                return new UpdateOutcome(result.Loss, result.Statistics, new UpdateSignals(LogRatioDrift: h.detach().abs().mean()));
            });
        }
        context.AddSamples(2 * batch);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> ExportState() => _order.Export();

    /// <inheritdoc />
    public void ImportState(IReadOnlyDictionary<string, double[]> state) => _order.Import(state, _pairs.Count);
}
