using BenchmarkDotNet.Attributes;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Losses;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Core.Schedules;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.UNet;
using TailorPO.Guidance.Refiners;
using TailorPO.Rewards.Analytic;
using TailorPO.Rewards.StepRewards;
using TailorPO.Training;
using TailorPO.Training.Methods;
using TailorPO.Training.Options;
using TailorPO.Training.Prompts;
using static TorchSharp.torch;

namespace TailorPO.Benchmarks;

/// <summary>
/// One training iteration of TailorPO against one of D3PO at equal T_finetune, per prompt (batch 1, 10 DDIM steps,
/// 5 trained steps, CFG 5, rank-4 LoRA, random weights): TailorPO samples one trajectory and ranks two candidates per
/// trained step; D3PO samples two trajectories and scores both transitions per trained step. The fixture UNet runs at
/// its own sample size, SD v1.5 at 16x16 latents (TAILORPO_BENCH_TRAIN_LATENT overrides); pick with
/// TAILORPO_BENCH_UNET=fixture|sd15. Each run prints the model evaluations (NFE) of the iteration.
/// </summary>
[MemoryDiagnoser]
public class TrainerIterationBenchmarks
{
    private UNet2DConditionModel _unet = null!;
    private LoraAdapter _adapter = null!;
    private UNetNoisePredictor _predictor = null!;
    private NoiseSchedule _schedule = null!;
    private RandomTextEncoder _encoder = null!;
    private long _size;

    /// <summary>Which UNet: "fixture" or "sd15".</summary>
    [ParamsSource(nameof(ConfigNames))]
    public string Config { get; set; } = "fixture";

    /// <summary>The method.</summary>
    [Params(TrainingMethods.TailorPO, TrainingMethods.D3po)]
    public string Method { get; set; } = TrainingMethods.TailorPO;

    /// <summary>The configs selected by TAILORPO_BENCH_UNET.</summary>
    public static IEnumerable<string> ConfigNames() => UNetBenchmarks.ConfigNames();

    /// <summary>Builds the UNet with LoRA and the parts.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = Config == "sd15" ? UNetConfigs.StableDiffusionV15 : UNetConfigs.Fixture();
        _unet = new UNet2DConditionModel(config);
        _adapter = LoraAdapter.Attach(_unet, new LoraConfig { Rank = 4 }, new Generator(0));
        _unet.train();
        _predictor = new UNetNoisePredictor(_unet);
        _schedule = new NoiseSchedule(SchedulerConfig.StableDiffusionV15);
        _encoder = new RandomTextEncoder(config.CrossAttentionDim[0]);
        _size = Environment.GetEnvironmentVariable("TAILORPO_BENCH_TRAIN_LATENT") is { Length: > 0 } s ? long.Parse(s)
            : Config == "sd15" ? 16 : config.SampleSize ?? 32;
    }

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _unet.Dispose();
        _encoder.Dispose();
    }

    /// <summary>One iteration over one prompt (sampling, ranking, the T_finetune updates).</summary>
    [Benchmark]
    public long Iteration()
    {
        var core = new TailorPOCoreOptions();
        core.Sampling.InferenceSteps = 10;
        var options = new TailorPOTrainingOptions
        {
            Method = Method, BatchSize = 1, SampleBudget = 1, LatentShape = [4, (int)_size, (int)_size],
        };
        if (Method == TrainingMethods.D3po) options.CollectBatches = 1; // online TailorPO collects nothing
        var sampler = new DdimSampler(_predictor, _schedule, core.Sampling);
        var reward = new ColorfulnessReward();
        var decoder = new FirstThreeChannels();
        var estimator = new StepRewardEstimator(decoder, reward);
        ITrainingMethod method = Method == TrainingMethods.D3po ? new D3poMethod(new D3poLoss()) : new TailorPOMethod(new TailorPOLoss());
        using var trainer = new PreferenceTrainer(method, sampler, estimator, reward, decoder, _adapter,
            _encoder, new InMemoryPromptSource(["a benchmark prompt"]), _schedule, options, core);
        var report = trainer.Train();
        Console.WriteLine($"// {Config} {Method}: {report.NoiseEvaluations} model evaluations, {report.Updates} updates, {report.Samples} images");
        return report.NoiseEvaluations;
    }

    /// <summary>Images from the first three latent channels, squashed to [0, 1] (a decoder that costs nothing).</summary>
    private sealed class FirstThreeChannels : ILatentDecoder
    {
        public Tensor DecodeToImages(Tensor latents) => (latents[.., ..3] * 0.5 + 0.5).clamp(0, 1);
    }

    /// <summary>Fixed random 77-token embeddings per call (the text encoder is not what is measured).</summary>
    private sealed class RandomTextEncoder(long width) : IPromptEncoder, IDisposable
    {
        private readonly Tensor _text = randn([1, 77, width], generator: new Generator(3)).DetachFromDisposeScope();

        public DiffusionCondition Encode(IReadOnlyList<string> prompts, double guidanceScale) =>
            new(prompts, _text.expand(prompts.Count, -1, -1), zeros(prompts.Count, 77, _text.shape[2]), guidanceScale);

        public void Dispose() => _text.Dispose();
    }
}
