using TailorPO.Core.Abstractions;
using TailorPO.Core.Threading;
using static TorchSharp.torch;

namespace TailorPO.Training.Evaluation;

/// <summary>
/// Evaluates the reward of generated images over prompts x seeds, for the reference model (adapters off) and the
/// policy (adapters on), with fixed seeds: the same x_T and sampling noise for both, so the difference is the adapters'.
/// Without an adapter the model is scored once and reported as both.
/// </summary>
public sealed class RewardEvaluator(ISampler sampler, ILatentDecoder decoder, IRewardModel reward, IPromptEncoder encoder, IAdapter? adapter)
{
    /// <summary>Generates and scores every (prompt, seed) with and without the adapters, in one call.</summary>
    /// <param name="prompts">Held-out prompts.</param>
    /// <param name="seeds">Seeds; each seeds x_T and the sampler's draws.</param>
    /// <param name="latentShape">[C, H, W] of one latent.</param>
    /// <param name="guidanceScale">CFG scale (the training one).</param>
    /// <param name="cancellationToken">Observed between images.</param>
    public EvaluationReport Evaluate(IReadOnlyList<string> prompts, IReadOnlyList<long> seeds, IReadOnlyList<int> latentShape,
        double guidanceScale, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(seeds);
        if (prompts.Count == 0 || seeds.Count == 0) throw new ArgumentException("Evaluation needs at least one prompt and one seed.");
        double[,] Scores(bool adapters)
        {
            var scores = new double[prompts.Count, seeds.Count];
            using var scope = NewDisposeScope();
            using var images = GenerateImages(prompts, seeds, latentShape, guidanceScale, adapters, cancellationToken);
            for (var j = 0; j < seeds.Count; j++)
            {
                using var gate = FinalizerGate.Close();
                using var seedScope = NewDisposeScope();
                var values = reward.Score(images[j], prompts).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                for (var i = 0; i < prompts.Count; i++) scores[i, j] = values[i];
            }
            return scores;
        }
        var reference = Scores(adapters: false);
        return new EvaluationReport(prompts, seeds, reference, adapter is null ? reference : Scores(adapters: true));
    }

    /// <summary>
    /// The decoded images [seeds, prompts, C, H, W] in [0, 1] that <see cref="Evaluate"/> scores: per seed one batch of
    /// every prompt, x_T and the sampler's draws from that seed, with or without the adapters. Lets a caller score one
    /// image set with several rewards.
    /// </summary>
    /// <param name="prompts">Prompts (one batch per seed).</param>
    /// <param name="seeds">Seeds.</param>
    /// <param name="latentShape">[C, H, W] of one latent.</param>
    /// <param name="guidanceScale">CFG scale.</param>
    /// <param name="adapters">False samples the reference model (adapters off).</param>
    /// <param name="cancellationToken">Observed between seeds.</param>
    public Tensor GenerateImages(IReadOnlyList<string> prompts, IReadOnlyList<long> seeds, IReadOnlyList<int> latentShape, double guidanceScale,
        bool adapters = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(latentShape);
        if (prompts.Count == 0 || seeds.Count == 0) throw new ArgumentException("Generation needs at least one prompt and one seed.");
        using var disabled = adapters ? null : adapter?.Disable();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var device = adapter?.TrainableParameters[0].Parameter.device ?? CPU;
        var perSeed = new List<Tensor>();
        var condition = encoder.Encode(prompts, guidanceScale);
        for (var j = 0; j < seeds.Count; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var gate = FinalizerGate.Close();
            using var seedScope = NewDisposeScope();
            using var generator = new Generator((ulong)seeds[j], device);
            var shape = new long[] { prompts.Count }.Concat(latentShape.Select(d => (long)d)).ToArray();
            var latents = randn(shape, ScalarType.Float32, device, generator: generator);
            for (var s = 0; s < sampler.Timesteps.Count; s++)
                latents = sampler.Step(latents, s, condition, 1, generator).Candidates[0];
            perSeed.Add(decoder.DecodeToImages(latents).MoveToOuterDisposeScope());
        }
        return stack(perSeed).MoveToOuterDisposeScope();
    }
}

/// <summary>Rewards of the reference and the policy per (prompt, seed), with summaries.</summary>
/// <param name="Prompts">The prompts (rows).</param>
/// <param name="Seeds">The seeds (columns).</param>
/// <param name="Reference">Rewards with the adapters off.</param>
/// <param name="Policy">Rewards with the adapters on.</param>
public sealed record EvaluationReport(IReadOnlyList<string> Prompts, IReadOnlyList<long> Seeds, double[,] Reference, double[,] Policy)
{
    /// <summary>Mean and standard deviation over every image of the reference model.</summary>
    public (double Mean, double Std) ReferenceSummary => Summary(Reference);

    /// <summary>Mean and standard deviation over every image of the policy.</summary>
    public (double Mean, double Std) PolicySummary => Summary(Policy);

    /// <summary>
    /// The seed-to-seed standard error of the policy-minus-reference mean: per seed, the mean paired difference over
    /// prompts; then std / sqrt(seeds).
    /// </summary>
    public double ImprovementStandardError
    {
        get
        {
            var perSeed = Enumerable.Range(0, Seeds.Count).Select(j => Enumerable.Range(0, Prompts.Count).Average(i => Policy[i, j] - Reference[i, j])).ToArray();
            if (perSeed.Length < 2) return double.NaN;
            var mean = perSeed.Average();
            return Math.Sqrt(perSeed.Sum(v => (v - mean) * (v - mean)) / (perSeed.Length - 1) / perSeed.Length);
        }
    }

    /// <summary>Per prompt: reference mean, policy mean.</summary>
    public IReadOnlyList<(string Prompt, double Reference, double Policy)> PerPrompt =>
        Enumerable.Range(0, Prompts.Count).Select(i => (Prompts[i],
            Enumerable.Range(0, Seeds.Count).Average(j => Reference[i, j]),
            Enumerable.Range(0, Seeds.Count).Average(j => Policy[i, j]))).ToList();

    private static (double Mean, double Std) Summary(double[,] values)
    {
        var all = values.Cast<double>().ToArray();
        var mean = all.Average();
        return (mean, Math.Sqrt(all.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, all.Length - 1)));
    }
}
