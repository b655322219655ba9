using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Schedules;
using TailorPO.Rewards.Ensemble;
using TailorPO.Rewards.StepRewards;
using TailorPO.Training.Evaluation;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>A tiny pixel-space setup wired through DI exactly as a host application would.</summary>
internal sealed class TrainerSetup : IDisposable
{
    private readonly ServiceProvider _provider;

    public TrainerSetup(string method, Action<TailorPOTrainingOptions>? configure = null, long modelSeed = 7,
        bool runningNormalizer = false, Action<IServiceCollection>? moreServices = null, Action<TailorPOCoreOptions>? configureCore = null)
    {
        Model = new TinyAdaptedModel(channels: 3, modelSeed);
        var services = new ServiceCollection();
        services.AddSingleton<INoisePredictor>(Model);
        services.AddSingleton<IAdapter>(Model);
        services.AddSingleton<IPromptEncoder>(Encoder);
        services.AddSingleton<ILatentDecoder>(new IdentityLatentDecoder());
        // A running normaliser makes the reward stateful: an exact resume must carry its statistics.
        IRewardModel reward = runningNormalizer ? new RewardEnsemble([new RewardEnsembleMember(Reward, 1.0, new RunningRewardNormalizer())]) : Reward;
        services.AddSingleton(reward);
        services.AddSingleton<IStepRewardEstimator>(sp => new StepRewardEstimator(sp.GetRequiredService<ILatentDecoder>(), reward));
        services.AddTailorPOCore(o =>
        {
            o.Sampling.InferenceSteps = 10;
            o.Loss.Beta = 1.0;
            configureCore?.Invoke(o);
        });
        services.AddTailorPOGuidance(o => o.Enabled = method == TrainingMethods.TailorPOGuided);
        services.AddTailorPOTraining(o =>
        {
            o.Method = method;
            o.LatentShape = [3, 4, 4];
            o.BatchSize = 2;
            o.SampleBudget = 24;
            o.LearningRate = 0.03;
            o.WeightDecay = 0;
            o.Seed = 11;
            if (method == TrainingMethods.DiffusionDpo) o.DiffusionDpoGeneratedPairs = 8; // an option only Diffusion-DPO may set
            configure?.Invoke(o);
        });
        moreServices?.Invoke(services);
        _provider = services.BuildServiceProvider();
        _provider.GetRequiredService<IStartupValidator>().Validate();
    }

    public TinyAdaptedModel Model { get; }

    public HashPromptEncoder Encoder { get; } = new();

    public MeanBrightnessReward Reward { get; } = new();

    public TailorPOCoreOptions Core => _provider.GetRequiredService<IOptions<TailorPOCoreOptions>>().Value;

    public ISampler Sampler => _provider.GetRequiredService<ISampler>();

    public NoiseSchedule Schedule => _provider.GetRequiredService<NoiseSchedule>();

    public PreferenceTrainer CreateTrainer() => _provider.GetRequiredService<PreferenceTrainer>();

    public RewardEvaluator Evaluator => _provider.GetRequiredService<RewardEvaluator>();

    public float[] AdapterValues() => Model.TrainableParameters.SelectMany(p => p.Parameter.detach().cpu().data<float>().ToArray()).ToArray();

    public void Dispose()
    {
        _provider.Dispose();
        Model.Dispose();
    }
}
