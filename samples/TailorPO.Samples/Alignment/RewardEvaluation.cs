using Microsoft.Extensions.DependencyInjection;
using TailorPO.Core.Abstractions;
using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Cli;
using TailorPO.Samples.Commands;
using TailorPO.Training.Evaluation;

namespace TailorPO.Samples.Alignment;

/// <summary>
/// <c>evaluate --reward</c>: the reward of images of the held-out prompts on held-out seeds, for the base model and,
/// with <c>--lora</c>, the adapted one (the same seeds, so the difference is the adapter's). Sampling uses eta 1 as
/// training does.
/// </summary>
public static class RewardEvaluation
{
    /// <summary>The seeds used: disjoint from the training run's and from align's own evaluation seeds.</summary>
    public const long FirstSeed = 200_000;

    /// <summary>Runs the evaluation.</summary>
    public static EvaluationReport Run(StableDiffusionPipeline pipeline, LoraAdapter? adapter, EvaluateSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(settings);
        var services = new ServiceCollection();
        services.AddTailorPORewards(o => RewardChoice.Configure(o, settings.Reward!, settings.ClipModel, settings.AestheticHead, settings.ClipModel));
        services.AddTailorPORewardModels(); // the learned kinds (aesthetic, clip-score, hpsv2, imagereward)
        using var provider = services.BuildServiceProvider();
        var reward = provider.GetRequiredService<IRewardModel>();
        var sampler = new DdimSampler(pipeline.NoisePredictor, pipeline.Schedule, new SamplingOptions { InferenceSteps = settings.Steps, Eta = 1.0 });
        var evaluator = new RewardEvaluator(sampler, pipeline.Decoder, reward, new PipelinePromptEncoder(pipeline), adapter);
        var size = pipeline.DefaultImageSize / pipeline.VaeScaleFactor;
        var seeds = Enumerable.Range(0, settings.RewardSeeds).Select(i => FirstSeed + i).ToArray();
        return evaluator.Evaluate(AlignmentPrompts.Evaluation(embeddedModel: settings.Model is null), seeds,
            [pipeline.Unet.Config.InChannels, size, size], settings.GuidanceScale, cancellationToken);
    }
}
