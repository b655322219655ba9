using TailorPO.Core.Options;
using TailorPO.Core.Sampling;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Reproduction.Runs;
using TailorPO.Shapes;
using TailorPO.Training.Evaluation;
using static TorchSharp.torch;

namespace TailorPO.Reproduction.Measuring;

/// <summary>
/// Generates the evaluation images of a LoRA (or of the base model) once - the held-out prompts and half as many
/// training prompts, on fixed evaluation seeds - and scores them with every reward of the <see cref="RewardPanel"/>. The
/// generation is the library's <see cref="RewardEvaluator.GenerateImages"/> (eta 1, the training CFG), so base and
/// LoRA see the same x_T and sampling noise and their difference is the adapter's.
/// </summary>
public sealed class HeldOutEvaluator : IDisposable
{
    /// <summary>The first evaluation seed: disjoint from the training seeds and from align's own evaluation seeds.</summary>
    public const long FirstSeed = 300_000;

    private readonly StableDiffusionPipeline _pipeline;
    private readonly RewardPanel _panel = new();
    private readonly ComparisonSizing _sizing;

    /// <summary>Loads the embedded model once.</summary>
    public HeldOutEvaluator(ComparisonSizing sizing)
    {
        ArgumentNullException.ThrowIfNull(sizing);
        _sizing = sizing;
        _pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        HeldOutPrompts = EvaluationPrompts.Spread(EvaluationPrompts.HeldOut, sizing.EvaluationPrompts);
        // Half as many training prompts: enough to compare gains (and to choose learning rates), at a third of the evaluation's cost.
        TrainingPrompts = EvaluationPrompts.Spread(EvaluationPrompts.Training, Math.Max(1, sizing.EvaluationPrompts / 2));
        Seeds = Enumerable.Range(0, sizing.EvaluationSeeds).Select(i => FirstSeed + i).ToList();
    }

    /// <summary>The held-out prompts (captions of combinations the model never saw).</summary>
    public IReadOnlyList<string> HeldOutPrompts { get; }

    /// <summary>Training prompts spread over the training captions.</summary>
    public IReadOnlyList<string> TrainingPrompts { get; }

    /// <summary>The evaluation seeds.</summary>
    public IReadOnlyList<long> Seeds { get; }

    /// <summary>The shared pipeline (sections 2-4 probe the base model and LoRAs with it).</summary>
    public StableDiffusionPipeline Pipeline => _pipeline;

    /// <summary>The reward models of the panel.</summary>
    public RewardPanel Panel => _panel;

    /// <summary>A sampler over the pipeline with the comparison's steps (or <paramref name="steps"/>) and eta 1.</summary>
    public DdimSampler CreateSampler(int? steps = null) =>
        new(_pipeline.NoisePredictor, _pipeline.Schedule, new SamplingOptions { InferenceSteps = steps ?? _sizing.Steps, Eta = 1.0 });

    /// <summary>Attaches the LoRA file (null: the base model), runs <paramref name="action"/>, and removes it again.</summary>
    public T WithLora<T>(string? loraFile, Func<LoraAdapter?, T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var adapter = loraFile is null ? null : LoraAdapter.FromFile(_pipeline.Unet, loraFile, RunTraining.LoraKeyPrefix);
        try
        {
            return action(adapter);
        }
        finally
        {
            adapter?.Remove();
        }
    }

    /// <summary>Evaluates the LoRA file (null: the base model) with the panel, and with <paramref name="learnedReward"/> too when given.</summary>
    /// <param name="loraFile">The adapter, or null for the base model.</param>
    /// <param name="cancellationToken">Stops between denoising steps.</param>
    /// <param name="learnedReward">A reward of <see cref="RewardPanel.LearnedNames"/> to score as well (the reward the run trained on).</param>
    public ImageSetScores Evaluate(string? loraFile, CancellationToken cancellationToken, string? learnedReward = null) => WithLora(loraFile, adapter =>
    {
        using var scope = NewDisposeScope();
        var evaluator = new RewardEvaluator(CreateSampler(), _pipeline.Decoder, _panel.Models[RewardPanel.Names[0]], new PipelinePromptEncoder(_pipeline), adapter);
        var prompts = HeldOutPrompts.Concat(TrainingPrompts).ToList();
        var size = _pipeline.DefaultImageSize / _pipeline.VaeScaleFactor;
        var images = evaluator.GenerateImages(prompts, Seeds, [_pipeline.Unet.Config.InChannels, size, size], RunTraining.GuidanceScale,
            adapters: true, cancellationToken); // [seeds, prompts, C, H, W]
        var heldOut = new Dictionary<string, double[]>();
        var training = new Dictionary<string, double[]>();
        var split = HeldOutPrompts.Count;
        var models = learnedReward is null ? _panel.Models : _panel.Models.Append(new(learnedReward, _panel.Learned(learnedReward)));
        foreach (var (name, model) in models)
        {
            var (h, t) = (new double[Seeds.Count], new double[Seeds.Count]);
            for (var j = 0; j < Seeds.Count; j++)
            {
                using var seedScope = NewDisposeScope();
                var values = model.Score(images[j], prompts).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                (h[j], t[j]) = (values[..split].Average(), values[split..].Average());
            }
            (heldOut[name], training[name]) = (h, t);
        }
        return new ImageSetScores(heldOut, training);
    });

    /// <inheritdoc />
    public void Dispose()
    {
        _panel.Dispose();
        _pipeline.Dispose();
    }
}
