using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Training.Pairs;
using TailorPO.Training.Prompts;
using static TorchSharp.torch;

namespace TailorPO.Training.Methods;

/// <summary>
/// Diffusion-DPO (Wallace et al.) on offline pairs: both latents noised with the same t and noise by the forward process
/// q(x_t | x_0); the implicit log-ratios h = -0.5 (L_policy - L_reference) of the denoising errors enter the DPO loss
/// (beta_dpo). Without a registered <see cref="IPreferencePairSource"/> the pairs are generated once by the BASE model
/// (adapters off): two images per prompt, ranked by the reward (ties dropped), as the paper's comparison does. That
/// set is drawn from a generator and a prompt order of its own, seeded from the run seed, so it is the same set however
/// often it is made; the method's state (<see cref="IStatefulComponent"/>: the shuffle order and its position) goes into
/// checkpoints, and a resumed run rebuilds the identical set without counting its model evaluations twice.
/// </summary>
/// <remarks>
/// Budget rule: every pair used in an update counts as two images (as D3PO's two trajectories); the base model's
/// generation of the offline set is reported in the NFE count. One timestep per update (drawn from the seed and the
/// update index, so a resume reproduces it) and T_finetune updates per batch of pairs, as many as the other methods make per
/// batch; training runs without classifier-free guidance, as the Diffusion-DPO code.
/// </remarks>
/// <param name="loss">The Diffusion-DPO loss (Core's keyed "diffusion-dpo" loss, beta_dpo).</param>
/// <param name="pairs">The offline pairs, or null to generate them with the base model.</param>
public sealed class DiffusionDpoMethod(IPairwiseLoss loss, IPreferencePairSource? pairs) : ITrainingMethod, IStatefulComponent, IDisposable
{
    // The generated set's own streams: distinct from the run's generator and prompt order, derived from the same seed.
    private const long GenerationSeedOffset = 0x5EED_D90;
    private bool _resumed;
    private readonly IPairwiseLoss _loss = loss ?? throw new ArgumentNullException(nameof(loss));
    private IPreferencePairSource? _pairs = pairs;
    private InMemoryPreferencePairSource? _generated;
    private readonly EpochOrder _order = new("Diffusion-DPO");

    /// <inheritdoc />
    public string Name => "diffusion-dpo";

    /// <inheritdoc />
    public IEnumerable<string> Validate(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Trained on the forward process's noised images: no sampled log-probabilities, so any eta will do.
        var used = _pairs is null ? new[] { nameof(context.Options.DiffusionDpoGeneratedPairs) } : [];
        return MethodRequirements.UnusedOptions(context, Name, used);
    }

    /// <inheritdoc />
    public void RunIteration(TrainerContext context, IReadOnlyList<string> prompts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_pairs is null)
        {
            var evaluations = context.Sampler.Evaluations;
            _pairs = _generated = Generate(context, cancellationToken);
            // A resumed run's counters already include the first generation's evaluations.
            if (_resumed) context.Sampler.Evaluations = evaluations;
        }
        var batch = Math.Min(context.Options.BatchSize, _pairs.Count);
        var indices = _order.Next(context, _pairs.Count, batch);
        using var scope = NewDisposeScope();
        var (pairPrompts, preferred, dispreferred) = _pairs.Get(indices);
        var condition = context.Encoder.Encode(pairPrompts, guidanceScale: 1.0).RepeatBatch(2);
        // As many updates per pair batch as the other methods make per batch (T_finetune), each at its own timestep.
        foreach (var stepIndex in context.TrainedSteps.Order())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var timestep = new Random(unchecked((int)(context.Options.Seed * 31 + context.Updates))).Next(0, context.Schedule.Config.NumTrainTimesteps);
            context.Update(-1, () =>
            {
                var noise = randn(preferred.shape, preferred.dtype, preferred.device, generator: context.Generator);
                var target = cat([noise, noise]);
                // q(x_t | x_0) for both images with the same t and noise.
                var noisy = context.Schedule.AddNoise(cat([preferred, dispreferred]), target,
                    full(2 * batch, timestep, ScalarType.Int64, preferred.device));
                var policyError = DiffusionDpoLoss.DenoisingError(context.Sampler.PredictNoiseAt(noisy, timestep, condition), target);
                Tensor referenceError;
                using (context.Adapter.Disable())
                using (no_grad())
                    referenceError = DiffusionDpoLoss.DenoisingError(context.Sampler.PredictNoiseAt(noisy, timestep, condition), target);
                var h = DiffusionDpoLoss.ImplicitLogRatio(policyError, referenceError);
                var result = _loss.Compute(new PreferencePair(h[..batch], h[batch..]));
                return new UpdateOutcome(result.Loss, result.Statistics, new UpdateSignals(LogRatioDrift: h.detach().abs().mean()));
            });
        }
        context.AddSamples(2 * batch);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> ExportState() => _order.Export();

    /// <inheritdoc />
    public void ImportState(IReadOnlyDictionary<string, double[]> state)
    {
        _order.Import(state);
        _resumed = true;
    }

    /// <inheritdoc />
    public void Dispose() => _generated?.Dispose();

    private static InMemoryPreferencePairSource Generate(TrainerContext context, CancellationToken cancellationToken)
    {
        var prompts = new List<string>();
        var preferred = new List<Tensor>();
        var dispreferred = new List<Tensor>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var reference = context.Adapter.Disable();
        using var generator = new Generator(unchecked((ulong)(context.Options.Seed + GenerationSeedOffset)), context.Device);
        var order = new PromptCursor(context.Prompts, context.Options.Seed + GenerationSeedOffset);
        var attempts = 0;
        while (prompts.Count < context.Options.DiffusionDpoGeneratedPairs && attempts++ < 4 * context.Options.DiffusionDpoGeneratedPairs)
        {
            var batchPrompts = order.Next(context.Options.BatchSize);
            var batch = batchPrompts.Count;
            var condition = context.Encode(batchPrompts).RepeatBatch(2);
            var latents = context.InitialNoise(2 * batch, generator);
            for (var s = 0; s < context.Sampler.Timesteps.Count; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                latents = context.Sampler.Step(latents, s, condition, 1, generator).Candidates[0];
            }
            var rewards = context.Reward.Score(context.Decoder.DecodeToImages(latents), condition.Prompts).cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            for (var i = 0; i < batch && prompts.Count < context.Options.DiffusionDpoGeneratedPairs; i++)
            {
                if (rewards[i] == rewards[batch + i]) continue; // a tie is no preference
                var firstWins = rewards[i] > rewards[batch + i];
                prompts.Add(batchPrompts[i]);
                preferred.Add(latents[firstWins ? i : batch + i]);
                dispreferred.Add(latents[firstWins ? batch + i : i]);
            }
        }
        if (prompts.Count == 0)
            throw new InvalidOperationException("Diffusion-DPO found no preference pair: every generated pair tied on the reward.");
        return new InMemoryPreferencePairSource(prompts, stack(preferred), stack(dispreferred));
    }
}
