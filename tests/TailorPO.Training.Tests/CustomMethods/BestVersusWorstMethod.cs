using TailorPO.Core.Abstractions;
using TailorPO.Training.Methods;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests.CustomMethods;

/// <summary>
/// A sixth method written outside the package, through the public plug-in API only (docs/custom-method.md shows the
/// same one): SPO-style step-level preference - at every trained step K &gt; 2 candidates from the same x_t, the best
/// and the worst by step reward form the DPO pair, and a RANDOM candidate continues (SPO's choice, where TailorPO lets
/// the winner continue).
/// </summary>
public sealed class BestVersusWorstMethod(IPairwiseLoss loss) : ITrainingMethod
{
    /// <inheritdoc />
    public string Name => "best-vs-worst";

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context) =>
        MethodRequirements.LogProbabilities(context, Name)
            .Concat(MethodRequirements.UnusedOptions(context, Name, nameof(context.Options.Candidates)))
            .Concat(context.Options.Candidates < 3 ? [$"{Name} ranks K > 2 candidates: set Candidates to 3 or more."] : []);

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var condition = context.Encode(prompts);
        var latents = context.InitialNoise(prompts.Count);
        var k = context.Options.Candidates;
        for (var s = 0; s < context.Sampler.Timesteps.Count; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (x, step) = (latents, s);
            Tensor candidates;
            using (no_grad()) candidates = context.Sampler.Step(x, step, condition, k, context.Generator).Candidates; // [K, B, ...]
            if (context.TrainedSteps.Contains(step))
            {
                context.Update(step, () =>
                {
                    Tensor rewards;
                    using (no_grad()) rewards = context.StepRewards.ScoreCandidates(context.Sampler, candidates, step, condition).Rewards; // [K, B]
                    var h = context.LogRatios(step, x, candidates, condition);                                           // [K, B]
                    var (best, worst) = (rewards.argmax(0, keepdim: true), rewards.argmin(0, keepdim: true));
                    var weight = rewards.max(0).values.gt(rewards.min(0).values).to_type(h.dtype);                          // a tie: no gradient
                    var result = loss.Compute(new PreferencePair(h.gather(0, best)[0], h.gather(0, worst)[0], weight));
                    var signals = new UpdateSignals(rewards.max(0).values.to_type(ScalarType.Float64).mean(),
                        rewards.min(0).values.to_type(ScalarType.Float64).mean(), LogRatioDrift: h.detach().abs().mean());
                    return new UpdateOutcome(result.Loss, result.Statistics, signals);
                });
            }
            var pick = randint(k, [1], ScalarType.Int64, context.Device, generator: context.Generator);
            latents = candidates.index_select(0, pick)[0];
        }
        context.AddSamples(prompts.Count);
    }
}
