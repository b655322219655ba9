using System.Globalization;
using TailorPO.Core.Sampling;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Core.Safetensors;
using TailorPO.Labeling.Storage;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Labeling.Tasks;

/// <summary>
/// Generates labelling tasks with the library and stores them: images as PNG files under <c>images/</c>, trajectories
/// as safetensors under <c>trajectories/</c> (both relative to the data folder), metadata in the database.
/// </summary>
internal sealed class TaskGenerator
{
    private readonly StableDiffusionPipeline _pipeline;
    private readonly string _modelName;
    private readonly TaskGenerationOptions _options;

    /// <summary>Creates a generator over a loaded pipeline (not owned).</summary>
    /// <exception cref="LabelingException">An option is out of range.</exception>
    public TaskGenerator(StableDiffusionPipeline pipeline, string modelName, TaskGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems().ToList();
        if (problems.Count > 0) throw new LabelingException(string.Join(" ", problems));
        (_pipeline, _modelName, _options) = (pipeline, modelName, options);
    }

    /// <summary>
    /// D3PO's setting: for each prompt and seed, one x_T and two trajectories from it that differ only by the sampler's
    /// noise (eta &gt; 0). Each trajectory's latents x_T ... x_0, timesteps and per-step log-probabilities are written.
    /// </summary>
    public IReadOnlyList<NewPair> TrajectoryPairs(IReadOnlyList<string> prompts, string dataFolder, CancellationToken cancellationToken = default)
    {
        PrepareFolders(prompts, dataFolder);
        var sampler = DdimSampler.ForGeneration(_pipeline.NoisePredictor, _pipeline.Schedule, _options.Steps, _options.Eta);
        var pairs = new List<NewPair>();
        for (var p = 0; p < prompts.Count; p++)
        for (var k = 0; k < _options.PairsPerPrompt; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seed = _options.Seed + k;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var generator = new Generator((ulong)seed, _pipeline.Unet.Device);
            var condition = _pipeline.EncodePrompts([prompts[p], prompts[p]], null, _options.GuidanceScale);
            var size = _pipeline.DefaultImageSize;
            var latents = _pipeline.InitialLatents(1, size, size, generator).repeat(2, 1, 1, 1);
            var path = new List<Tensor> { latents };
            var logProbabilities = new List<Tensor>();
            for (var i = 0; i < sampler.Timesteps.Count; i++)
            {
                var step = sampler.Step(latents, i, condition, candidates: 1, generator);
                latents = step.Candidates[0];
                path.Add(latents);
                logProbabilities.Add(step.LogProbabilities[0]);
            }
            var decoded = _pipeline.Decoder.DecodeToImages(latents).cpu();
            var stem = Stem(p, seed);
            var timesteps = tensor(sampler.Timesteps.ToArray());
            var all = stack(path, 1).cpu();          // [2, S + 1, C, H, W]
            var logs = stack(logProbabilities, 1).cpu(); // [2, S]
            var files = new string[2][];
            for (var side = 0; side < 2; side++)
            {
                var letter = side == 0 ? "a" : "b";
                var image = Path.Combine("images", $"{stem}-{letter}.png");
                ImageTensors.SavePng(decoded[side], Path.Combine(dataFolder, image));
                var trajectory = Path.Combine("trajectories", $"{stem}-{letter}.safetensors");
                SafetensorsWriter.Save(Path.Combine(dataFolder, trajectory),
                    new Dictionary<string, Tensor> { [StoredTrajectoryPairs.LatentsName] = all[side].contiguous(), [StoredTrajectoryPairs.TimestepsName] = timesteps,
                        [StoredTrajectoryPairs.LogProbabilitiesName] = logs[side].contiguous() },
                    Metadata(prompts[p], seed));
                files[side] = [image, trajectory];
            }
            pairs.Add(new NewPair(PairKinds.Trajectory, prompts[p], seed, files[0][0], files[1][0], $"{_modelName} trajectory 1", $"{_modelName} trajectory 2", files[0][1], files[1][1]));
        }
        return pairs;
    }

    /// <summary>
    /// Model A (the base, the LoRA disabled) against model B (the LoRA on), same prompt, seed and sampler settings:
    /// the pairs of a blind win-rate evaluation.
    /// </summary>
    public IReadOnlyList<NewPair> ModelPairs(IReadOnlyList<string> prompts, LoraAdapter adapter, string loraName, string dataFolder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        PrepareFolders(prompts, dataFolder);
        var pairs = new List<NewPair>();
        for (var p = 0; p < prompts.Count; p++)
        for (var k = 0; k < _options.PairsPerPrompt; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seed = _options.Seed + k;
            var request = new TextToImageRequest { Prompts = [prompts[p]], Steps = _options.Steps, GuidanceScale = _options.GuidanceScale, Eta = _options.Eta, Seed = seed };
            var stem = Stem(p, seed);
            string a = Path.Combine("images", $"{stem}-base.png"), b = Path.Combine("images", $"{stem}-lora.png");
            using (adapter.Disable())
            using (var baseline = _pipeline.Generate(request, cancellationToken: cancellationToken))
                ImageTensors.SavePng(baseline.Images[0], Path.Combine(dataFolder, a));
            using (var aligned = _pipeline.Generate(request, cancellationToken: cancellationToken))
                ImageTensors.SavePng(aligned.Images[0], Path.Combine(dataFolder, b));
            pairs.Add(new NewPair(PairKinds.Model, prompts[p], seed, a, b, _modelName, $"{_modelName} + {loraName}"));
        }
        return pairs;
    }

    // The settings D3PO's human-feedback mode checks against its run (StoredTrajectoryPairs reads them back).
    private Dictionary<string, string> Metadata(string prompt, long seed) => new()
    {
        [StoredTrajectoryPairs.PromptKey] = prompt,
        [StoredTrajectoryPairs.SeedKey] = seed.ToString(CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.SamplerKey] = TrajectorySampling.Ddim,
        [StoredTrajectoryPairs.SchedulerKey] = TrajectorySampling.DescribeScheduler(_pipeline.Schedule.Config),
        [StoredTrajectoryPairs.StepsKey] = _options.Steps.ToString(CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.EtaKey] = _options.Eta.ToString("R", CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.GuidanceScaleKey] = _options.GuidanceScale.ToString("R", CultureInfo.InvariantCulture),
        ["model"] = _modelName,
    };

    // Unique per run: a second generation into the same folder never overwrites the images of stored pairs.
    private static string Stem(int prompt, long seed) =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMddHHmmssfff}-p{prompt:D4}-s{seed}");

    private static void PrepareFolders(IReadOnlyList<string> prompts, string dataFolder)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new LabelingException("No prompts to generate tasks for; give one prompt per line with --prompts <file>.");
        ArgumentException.ThrowIfNullOrWhiteSpace(dataFolder);
        var images = Path.Combine(dataFolder, "images");
        var trajectories = Path.Combine(dataFolder, "trajectories");
        try
        {
            Directory.CreateDirectory(images);
            Directory.CreateDirectory(trajectories);
            var probe = Path.Combine(images, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabelingException($"The data folder '{Path.GetFullPath(dataFolder)}' is not writable ({e.Message}); choose another with --data <folder>.", e);
        }
    }
}
