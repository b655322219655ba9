using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace TailorPO.Shapes.Evaluation;

/// <summary>
/// Grades a model GenEval-style: draws every held-out caption of <see cref="AttributeGradeOptions.Scenes"/> with every
/// seed, measures each image's shape, colours and pattern with <see cref="SceneMeasurer"/>, scores the monitors, and
/// measures diversity between a caption's seeds. With an adapter it grades the base (adapter disabled) and the aligned
/// model on the same captions and seeds.
/// </summary>
public static class AttributeGrader
{
    /// <summary>Runs the grade.</summary>
    /// <param name="pipeline">The model.</param>
    /// <param name="adapter">The aligned adapter attached to <paramref name="pipeline"/>, or null to grade the pipeline as it is.</param>
    /// <param name="options">Captions, seeds and sampling.</param>
    /// <param name="monitors">Scores reported beside accuracy.</param>
    /// <param name="imagesDone">Called with the images graded so far and the total (progress).</param>
    /// <param name="cancellationToken">Stops between denoising steps.</param>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static AttributeGradeReport Grade(StableDiffusionPipeline pipeline, LoraAdapter? adapter, AttributeGradeOptions options,
        IReadOnlyList<GradeMonitor> monitors, Action<int, int>? imagesDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(monitors);
        var problems = options.Problems().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        var total = options.Captions * options.SeedsPerCaption * (adapter is null ? 1 : 2);
        var done = 0;
        void Count(int images) => imagesDone?.Invoke(done += images, total);
        ModelGrade baseGrade;
        if (adapter is null) baseGrade = GradeModel(pipeline, options, monitors, Count, cancellationToken);
        else
            using (adapter.Disable())
                baseGrade = GradeModel(pipeline, options, monitors, Count, cancellationToken);
        var aligned = adapter is null ? null : GradeModel(pipeline, options, monitors, Count, cancellationToken);
        return new AttributeGradeReport(options, monitors.Select(m => m.Name).ToList(), baseGrade, aligned);
    }

    private static ModelGrade GradeModel(StableDiffusionPipeline pipeline, AttributeGradeOptions options, IReadOnlyList<GradeMonitor> monitors,
        Action<int> imagesDone, CancellationToken cancellationToken)
    {
        var scenes = options.Scenes();
        var prompts = scenes.Select(s => s.Caption).ToList();
        var graded = new List<GradedImage>();
        var perSeed = new List<Tensor>();
        try
        {
            for (var k = 0; k < options.SeedsPerCaption; k++)
            {
                var seed = options.FirstSeed + k;
                using var result = pipeline.Generate(new TextToImageRequest
                {
                    Prompts = prompts, Steps = options.Steps, GuidanceScale = options.GuidanceScale, Eta = options.Eta, Seed = seed,
                }, progress: null, cancellationToken);
                using var scope = NewDisposeScope();
                var images = result.Images.to(float32).cpu();
                var scores = monitors.Select(m => m.Reward.Score(images, prompts).to(float64).cpu().data<double>().ToArray()).ToList();
                for (var c = 0; c < scenes.Count; c++)
                {
                    using var image = images[c];
                    var fidelity = new FidelitySample(scenes[c], seed, SceneMeasurer.Measure(image));
                    graded.Add(new GradedImage(fidelity, c, k, scores.Select(s => s[c]).ToList()));
                }
                perSeed.Add(images.MoveToOuterDisposeScope());
                imagesDone(scenes.Count);
            }
            return new ModelGrade(graded, Diversity(perSeed));
        }
        finally
        {
            foreach (var t in perSeed) t.Dispose();
        }
    }

    /// <summary>
    /// Mean over captions of the mean pairwise RMS distance between the caption's images under different seeds.
    /// </summary>
    /// <param name="perSeed">One [C, 3, H, W] batch per seed, caption c at row c.</param>
    internal static double Diversity(IReadOnlyList<Tensor> perSeed)
    {
        using var scope = NewDisposeScope();
        var all = stack(perSeed, 1).flatten(2).to(float64); // [C, S, D]
        var dimension = all.shape[2];
        var distances = cdist(all, all) / Math.Sqrt(dimension); // [C, S, S], RMS per pair
        var seeds = all.shape[1];
        var pairs = seeds * (seeds - 1);
        return (distances.sum() / (all.shape[0] * pairs)).item<double>();
    }
}
