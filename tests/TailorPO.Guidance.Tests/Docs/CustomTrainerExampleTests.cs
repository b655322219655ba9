// docs:begin trainer-usings
using TailorPO.Core.Abstractions;
using TailorPO.Core.Sampling;
using TailorPO.Guidance;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
// docs:end trainer-usings
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Options;
using TailorPO.Rewards.Options;
using TailorPO.TestUtilities.Doubles;

namespace TailorPO.Guidance.Tests.Docs;

// The TailorPOStepTrainer.cs file of docs/custom-trainer.md: the regions between "docs:begin" and "docs:end" are quoted
// there verbatim (Doc_quotes_the_compiled_example checks it). The page's Program.cs runs the class on the embedded
// model (tests/TailorPO.Docs.Tests); here it runs on a tiny LoRA module so that each claim of the page is asserted.

// docs:begin trainer
/// <summary>
/// One trained denoising step of TailorPO / TailorPO-G (the paper's Algorithm 1), composed from the
/// DI seams: K = 2 candidates from ONE x_t, ranked by their step rewards, the preferred one optionally
/// pushed up the reward gradient, a DPO loss on the pair, one AdamW step on the adapter parameters,
/// and the preferred candidate continues the trajectory.
/// </summary>
public sealed class TailorPOStepTrainer : IDisposable
{
    private readonly ISampler _sampler;
    private readonly IStepRewardEstimator _stepRewards;
    private readonly IPreferredSampleRefiner _refiner;
    private readonly IPairwiseLoss _loss;
    private readonly IReadOnlyList<Parameter> _trainable;
    private readonly Func<IDisposable> _disableAdapters;
    private readonly optim.Optimizer _optimizer;

    /// <param name="trainable">The adapter parameters (LoRA A and B); nothing else is updated.</param>
    /// <param name="disableAdapters">Switches the adapters off until disposed: the reference model pi_ref.</param>
    public TailorPOStepTrainer(ISampler sampler, IStepRewardEstimator stepRewards, IPreferredSampleRefiner refiner,
        IPairwiseLoss loss, IReadOnlyList<Parameter> trainable, Func<IDisposable> disableAdapters, double learningRate = 3e-5)
    {
        _sampler = sampler;
        _stepRewards = stepRewards;
        _refiner = refiner;
        _loss = loss;
        _trainable = trainable;
        _disableAdapters = disableAdapters;
        // D3PO's optimiser, which the paper keeps: AdamW, lr 3e-5, betas (0.9, 0.999), weight decay 1e-4.
        _optimizer = optim.AdamW(trainable, lr: learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-4);
    }

    /// <summary>Trains on the step x_t -&gt; x_{t-1} at <paramref name="stepIndex"/> and returns the x_{t-1} that continues.</summary>
    /// <param name="noisePrediction">eps(x_t) from the previous trained step (reused: no second model call), or null.</param>
    public TrainedStep Train(Tensor latents, int stepIndex, DiffusionCondition condition, Generator generator,
        Tensor? noisePrediction = null)
    {
        using var scope = NewDisposeScope(); // every tensor of the step, and its autograd graph, dies here

        // 1. Two candidates x^0_{t-1}, x^1_{t-1} from the same posterior of x_t (sampled without autograd).
        var step = _sampler.Step(latents, stepIndex, condition, candidates: 2, generator, noisePrediction);

        // 2. Step rewards r(c, D(x0_hat(x^k_{t-1}))), [2, B], with ONE batched model call at the candidates'
        //    noise level, and each candidate's eps for the next step (null when it cannot be reused).
        var scored = _stepRewards.ScoreCandidates(_sampler, step.Candidates, stepIndex, condition);
        var (rewards, candidateNoise) = (scored.Rewards, scored.NoisePredictions);

        // 3. Rank per batch element. A tie prefers nobody: weight 0 gives that pair no gradient (candidate 0 continues).
        var firstWins = rewards[0] >= rewards[1];
        var weight = rewards[0].ne(rewards[1]).to_type(latents.dtype);
        var mask = firstWins.reshape([latents.shape[0], .. Enumerable.Repeat(1L, (int)latents.dim() - 1)]);
        var preferred = where(mask, step.Candidates[0], step.Candidates[1]);
        var dispreferred = where(mask, step.Candidates[1], step.Candidates[0]);
        var preferredNoise = candidateNoise is null ? null : where(mask, candidateNoise[0], candidateNoise[1]);

        // 4. TailorPO-G: x^+ = x^w - eta_t grad (r_high - r_t)^2, kept where the step reward rises.
        //    The NoOpRefiner (plain TailorPO) returns x^w unchanged.
        var refined = _refiner.Refine(_sampler, preferred, stepIndex, condition);
        var winner = refined.Sample;
        var winnerNoise = _refiner.IsGuiding ? refined.NextNoisePrediction : preferredNoise; // a guided sample moved

        // 5. Log-ratios h = log pi_theta / pi_ref. Both candidates share x_t, so one posterior mean under
        //    the policy (adapters on, with autograd) and one under the reference (adapters off) serve both.
        var transition = new SamplerTransition(stepIndex, latents, winner,
            where(firstWins, step.LogProbabilities[0], step.LogProbabilities[1]));
        var policy = _sampler.Score(transition, condition);
        Tensor referenceMean;
        using (_disableAdapters())
        using (no_grad())
            referenceMean = _sampler.Score(transition, condition).Mean;
        var logRatios = DdimStepMath.LogRatio(stack([winner, dispreferred]), policy.Mean, referenceMean, policy.Sigma);

        // 6. The loss (TailorPO's Eq. 10 unless the options choose another), backward, clip, AdamW.
        var result = _loss.Compute(new PreferencePair(logRatios[0], logRatios[1], weight));
        _optimizer.zero_grad();
        result.Loss.backward();
        nn.utils.clip_grad_norm_(_trainable, max_norm: 1.0);
        _optimizer.step();

        // 7. The preferred (possibly guided) candidate continues, with its eps for the next step.
        var metrics = new StepMetrics(stepIndex, result.Diagnostics,
            (rewards[0] - rewards[1]).abs().mean().to(ScalarType.Float64).item<double>(), refined.Report?.AcceptanceRate);
        return new TrainedStep(winner.MoveToOuterDisposeScope(), winnerNoise?.MoveToOuterDisposeScope(), metrics);
    }

    /// <summary>
    /// One trajectory from x_T: K = 2 and a training update at <paramref name="trainedSteps"/>
    /// (e.g. <c>FinetuneOptions.SelectStepIndices</c>), plain sampling elsewhere. Returns x_0 and the metrics.
    /// </summary>
    public (Tensor FinalLatents, IReadOnlyList<StepMetrics> Metrics) TrainTrajectory(Tensor initialLatents,
        DiffusionCondition condition, IReadOnlyCollection<int> trainedSteps, Generator generator)
    {
        var metrics = new List<StepMetrics>();
        var latents = initialLatents;
        Tensor? noise = null;
        for (var i = 0; i < _sampler.Timesteps.Count; i++)
        {
            Tensor next;
            Tensor? nextNoise = null;
            if (trainedSteps.Contains(i))
            {
                var trained = Train(latents, i, condition, generator, noise);
                (next, nextNoise) = (trained.NextLatents, trained.NextNoisePrediction);
                metrics.Add(trained.Metrics);
            }
            else
            {
                using var scope = NewDisposeScope();
                var step = _sampler.Step(latents, i, condition, candidates: 1, generator, noise);
                next = step.Candidates[0].MoveToOuterDisposeScope();
            }
            if (!ReferenceEquals(latents, initialLatents)) latents.Dispose();
            noise?.Dispose();
            (latents, noise) = (next, nextNoise);
        }
        noise?.Dispose();
        return (latents, metrics);
    }

    /// <inheritdoc />
    public void Dispose() => _optimizer.Dispose();
}

/// <summary>The x_{t-1} that continues (caller-owned), its eps at the next step (null after the last), and metrics.</summary>
public sealed record TrainedStep(Tensor NextLatents, Tensor? NextNoisePrediction, StepMetrics Metrics);

/// <summary>Per-step metrics: loss diagnostics, mean |r_t(x^0) - r_t(x^1)|, and TailorPO-G's acceptance rate.</summary>
public sealed record StepMetrics(int StepIndex, PairwiseLossDiagnostics Loss, double StepRewardGap, double? GuidanceAcceptanceRate);
// docs:end trainer

public class CustomTrainerExampleTests
{
    [Fact]
    public void One_training_step_gives_a_finite_loss_and_updates_only_the_adapter_parameters()
    {
        using var generator = new Generator(42);
        // The host's own INoisePredictor: in a real application the UNet with LoRA attached.
        using var predictor = new TinyLoraNoisePredictor(channels: 4, generator);

        var services = new ServiceCollection();
        services.AddSingleton<INoisePredictor>(predictor);
        services.AddSingleton<ILatentDecoder>(new SquashedLinearDecoder(channels: 4)); // the VAE decoder in a real app
        services.AddTailorPOCore(o => o.Sampling.InferenceSteps = 10);  // paper: 20 steps, eta 1, CFG 5, beta 0.1
        services.AddTailorPORewards(o => o.Add(RewardKind.Colorfulness)); // TailorPO-G needs a differentiable reward
        services.AddTailorPOGuidance();                                   // o => o.Enabled = false: plain TailorPO
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();      // every invalid option, in one exception

        using var trainer = new TailorPOStepTrainer(
            provider.GetRequiredService<ISampler>(),
            provider.GetRequiredService<IStepRewardEstimator>(),
            provider.GetRequiredService<IPreferredSampleRefiner>(),
            provider.GetRequiredService<IPairwiseLoss>(),
            predictor.TrainableParameters,
            predictor.DisableAdapter);

        using var scope = NewDisposeScope();
        var options = provider.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value;
        var condition = Condition(batch: 2, options.Sampling.GuidanceScale, generator);
        var latents = randn([2, 4, 3, 3], generator: generator);
        var trainable = predictor.TrainableParameters.ToHashSet(ReferenceEqualityComparer.Instance);
        var before = predictor.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var trained = trainer.Train(latents, stepIndex: 0, condition, generator);

        var loss = trained.Metrics.Loss;
        Assert.True(double.IsFinite(loss.Loss), $"loss {loss.Loss}");
        // A fresh LoRA (B = 0) IS the reference model, so both log-ratios are 0 and the loss is -log sigma(0) = log 2.
        Assert.Equal(0.0, loss.MeanPreferredLogRatio, 12);
        Assert.Equal(0.0, loss.MeanDispreferredLogRatio, 12);
        Assert.Equal(Math.Log(2), loss.Loss, 6);
        Assert.NotNull(trained.Metrics.GuidanceAcceptanceRate);

        var changed = new List<string>();
        foreach (var (name, parameter) in predictor.named_parameters())
        {
            var moved = !before[name].eq(parameter.detach()).all().item<bool>();
            if (trainable.Contains(parameter)) { if (moved) changed.Add(name); }
            else Assert.False(moved, $"frozen parameter '{name}' changed");
        }
        Assert.Contains("to_q.lora_B.weight", changed);

        Assert.Equal(latents.shape, trained.NextLatents.shape);
        Assert.True(trained.NextLatents.isfinite().all().item<bool>());
        Assert.NotNull(trained.NextNoisePrediction);
        Assert.Equal(latents.shape, trained.NextNoisePrediction!.shape);
    }

    [Fact]
    public void A_trajectory_trains_exactly_the_selected_steps_and_ends_in_finite_latents()
    {
        using var generator = new Generator(3);
        using var predictor = new TinyLoraNoisePredictor(channels: 4, generator);
        var services = new ServiceCollection();
        services.AddSingleton<INoisePredictor>(predictor);
        services.AddSingleton<ILatentDecoder>(new SquashedLinearDecoder(channels: 4));
        services.AddTailorPOCore(o =>
        {
            o.Sampling.InferenceSteps = 4;
            o.Finetune.TrainedSteps = 2;
        });
        services.AddTailorPORewards(o => o.Add(RewardKind.Saturation));
        services.AddTailorPOGuidance(o => o.Enabled = false);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value;
        var sampler = provider.GetRequiredService<ISampler>();
        using var trainer = new TailorPOStepTrainer(sampler, provider.GetRequiredService<IStepRewardEstimator>(),
            provider.GetRequiredService<IPreferredSampleRefiner>(), provider.GetRequiredService<IPairwiseLoss>(),
            predictor.TrainableParameters, predictor.DisableAdapter);

        using var scope = NewDisposeScope();
        var condition = Condition(batch: 2, options.Sampling.GuidanceScale, generator);
        var trainedSteps = options.Finetune.SelectStepIndices(sampler.Timesteps.Count);
        var (final, metrics) = trainer.TrainTrajectory(randn([2, 4, 3, 3], generator: generator), condition, trainedSteps, generator);

        Assert.Equal(trainedSteps, metrics.Select(m => m.StepIndex));
        Assert.All(metrics, m => Assert.True(double.IsFinite(m.Loss.Loss)));
        Assert.All(metrics, m => Assert.Null(m.GuidanceAcceptanceRate));
        Assert.Equal(new long[] { 2, 4, 3, 3 }, final.shape);
        Assert.True(final.isfinite().all().item<bool>());
    }

    [Fact]
    public void Doc_quotes_the_compiled_example()
    {
        var source = RepositoryFiles.ReadText("tests", "TailorPO.Guidance.Tests", "Docs", "CustomTrainerExampleTests.cs");
        var doc = RepositoryFiles.ReadText("docs", "custom-trainer.md");
        foreach (var region in new[] { "trainer-usings", "trainer" })
        {
            var quoted = TailorPO.TestUtilities.DocRegions.Region(source, region);
            Assert.True(quoted.Length > 100, $"region '{region}' is missing from the example");
            Assert.True(doc.Contains(quoted, StringComparison.Ordinal),
                $"docs/custom-trainer.md does not quote the '{region}' region of CustomTrainerExampleTests.cs verbatim (dedented); update the doc.");
        }
    }

    private static DiffusionCondition Condition(int batch, double guidanceScale, Generator generator) => new(
        Enumerable.Range(0, batch).Select(i => $"prompt {i}").ToArray(),
        randn([batch, 3, 5], generator: generator) * 0.3,
        zeros([batch, 3, 5]),
        guidanceScale);
}
