using TailorPO.Shapes.Evaluation;
using TailorPO.Core.Abstractions;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Samples.Evaluation;
using TailorPO.Training.Guarding;
using static TorchSharp.torch;

namespace TailorPO.Samples.Alignment;

/// <summary>
/// <c>align</c>'s gold metric for the embedded model (the reward-hacking guard's <see cref="IGoldMetric"/>): a fixed small
/// set of held-out captions (combinations training never shows) generated with the CURRENT adapters from fixed seeds, and
/// graded by the exact <c>SceneMeasurer</c>. Gold = the fraction of images with all four attributes right (shape, shape
/// colour, background colour, pattern): a proxy can be hacked by dropping any one of them (JPEG compressibility flattens
/// the pattern and the background first), so the all-four score catches more than shape accuracy alone. Proxy = the
/// training reward's mean on the same images. Its seeds are its own (never the run's generator), and a stateful reward's
/// state (running normalisers) is put back after scoring, so the guard leaves the training trajectory untouched.
/// </summary>
public sealed class SceneGoldMetric : IGoldMetric
{
    /// <summary>Held-out images per reading (one batch).</summary>
    public const int DefaultImages = 16;

    /// <summary>
    /// The guard's tolerance: one image of <see cref="DefaultImages"/>. A single image flipping is within the noise of a
    /// 16-image reading (its standard error is 10-12 points near 50%), so only a drop of more counts as the gold falling.
    /// </summary>
    public const double Tolerance = 1.0 / DefaultImages;

    /// <summary>The seed of its captions and generation: disjoint from align's evaluation (100000+) and evaluate's (200000+).</summary>
    public const long Seed = 300_000;

    private readonly StableDiffusionPipeline _pipeline;
    private readonly IRewardModel _reward;
    private readonly LoraAdapter _adapter;
    private readonly CaptionFidelityOptions _options;

    /// <summary>Creates the metric.</summary>
    /// <param name="pipeline">The embedded model with the run's LoRA attached.</param>
    /// <param name="reward">The training reward (the proxy).</param>
    /// <param name="adapter">The run's LoRA (for its device).</param>
    /// <param name="steps">DDIM steps (the run's).</param>
    /// <param name="guidanceScale">CFG scale (the run's).</param>
    /// <param name="eta">DDIM eta (the run's).</param>
    /// <param name="images">Held-out images per reading.</param>
    public SceneGoldMetric(StableDiffusionPipeline pipeline, IRewardModel reward, LoraAdapter adapter, int steps, double guidanceScale, double eta,
        int images = DefaultImages)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentOutOfRangeException.ThrowIfLessThan(images, 2);
        (_pipeline, _reward, _adapter) = (pipeline, reward, adapter);
        _options = new CaptionFidelityOptions { Samples = images, BatchSize = images, Seed = Seed, Steps = steps, GuidanceScale = guidanceScale, Eta = eta };
    }

    /// <inheritdoc />
    public string Name => "scene-all-four";

    /// <summary>The held-out captions of a reading, in order.</summary>
    public IReadOnlyList<string> Captions => CaptionFidelityEvaluator.Scenes(_options).Select(s => s.Caption).ToList();

    /// <summary>The last reading's caption-fidelity report (per-attribute accuracy), or null.</summary>
    public CaptionFidelityReport? LastReport { get; private set; }

    /// <inheritdoc />
    public GoldMetricReading Evaluate(long images, CancellationToken cancellationToken)
    {
        var rewards = new List<double>();
        var saved = _reward is IStatefulComponent stateful ? stateful.ExportState().ToDictionary(p => p.Key, p => p.Value.ToArray()) : null;
        var device = _adapter.TrainableParameters[0].Parameter.device;
        CaptionFidelityReport report;
        try
        {
            report = CaptionFidelityEvaluator.Evaluate(_pipeline, _options, (_, batch) =>
            {
                using var scope = NewDisposeScope();
                var prompts = CaptionFidelityEvaluator.Scenes(_options).Skip(rewards.Count).Take((int)batch.shape[0]).Select(s => s.Caption).ToList();
                var scores = _reward.Score(batch.to(device), prompts).detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
                rewards.AddRange(scores);
            }, cancellationToken);
        }
        finally
        {
            if (saved is not null) ((IStatefulComponent)_reward).ImportState(saved);
        }
        LastReport = report;
        var gold = report.AllAgreement;
        var proxy = Estimate.Of(rewards);
        return new GoldMetricReading(gold, proxy.Mean)
        {
            GoldStandardError = report.StandardError(gold),
            ProxyStandardError = proxy.StandardError,
        };
    }
}
