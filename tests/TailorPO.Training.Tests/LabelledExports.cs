using System.Globalization;
using System.Text;
using TailorPO.Core.Safetensors;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Training.Tests;

/// <summary>
/// Writes labelled trajectory pairs in the labelling app's export layout with the tiny model of a <see cref="TrainerSetup"/>:
/// per prompt and seed two trajectories from one x_T, sampled by the setup's own sampler (so the stored log-probabilities
/// are the base model's), and a scripted annotator who prefers the brighter final image.
/// </summary>
internal static class LabelledExports
{
    /// <summary>Prompts with a comma and quotes, so the CSV's quoting is exercised.</summary>
    public static readonly string[] Prompts = ["a red circle", "a blue, striped square", "a \"quoted\" green triangle"];

    /// <summary>Writes the export into <paramref name="folder"/>; returns the CSV's path.</summary>
    public static string Write(TrainerSetup setup, string folder, int pairsPerPrompt = 2, long seed = 3)
    {
        var trajectories = Path.Combine(folder, "trajectories");
        Directory.CreateDirectory(trajectories);
        var csv = new StringBuilder(string.Join(",", StoredTrajectoryPairs.Header) + "\n");
        var scale = setup.Core.Sampling.GuidanceScale;
        using var generator = new Generator((ulong)seed);
        for (var p = 0; p < Prompts.Length; p++)
        for (var k = 0; k < pairsPerPrompt; k++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var condition = setup.Encoder.Encode([Prompts[p], Prompts[p]], scale);
            var latents = randn([1, 3, 4, 4], generator: generator).repeat(2, 1, 1, 1);
            var path = new List<Tensor> { latents };
            var logs = new List<Tensor>();
            for (var s = 0; s < setup.Sampler.Timesteps.Count; s++)
            {
                var step = setup.Sampler.Step(latents, s, condition, 1, generator);
                latents = step.Candidates[0];
                path.Add(latents);
                logs.Add(step.LogProbabilities[0]);
            }
            var all = stack(path, 1);
            var logProbabilities = stack(logs, 1);
            var brightness = latents.mean([1, 2, 3]).data<float>().ToArray();
            var files = new string[2];
            for (var side = 0; side < 2; side++)
            {
                files[side] = $"trajectories/p{p}-s{k}-{side}.safetensors";
                SafetensorsWriter.Save(Path.Combine(folder, files[side]), new Dictionary<string, Tensor>
                {
                    [StoredTrajectoryPairs.LatentsName] = all[side].contiguous(),
                    [StoredTrajectoryPairs.TimestepsName] = tensor(setup.Sampler.Timesteps.ToArray()),
                    [StoredTrajectoryPairs.LogProbabilitiesName] = logProbabilities[side].contiguous(),
                }, Metadata(setup, Prompts[p], k));
            }
            var (preferred, dispreferred) = brightness[0] >= brightness[1] ? (files[0], files[1]) : (files[1], files[0]);
            csv.Append(Csv(Prompts[p])).Append(CultureInfo.InvariantCulture, $",{k},{preferred},{dispreferred},2,1,0\n");
        }
        var file = Path.Combine(folder, StoredTrajectoryPairs.FileName);
        File.WriteAllText(file, csv.ToString());
        return file;
    }

    /// <summary>The metadata the labelling app writes, for the setup's sampling settings.</summary>
    public static Dictionary<string, string> Metadata(TrainerSetup setup, string prompt, long seed) => new()
    {
        [StoredTrajectoryPairs.PromptKey] = prompt,
        [StoredTrajectoryPairs.SeedKey] = seed.ToString(CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.SamplerKey] = TrajectorySampling.Ddim,
        [StoredTrajectoryPairs.SchedulerKey] = TrajectorySampling.DescribeScheduler(setup.Schedule.Config),
        [StoredTrajectoryPairs.StepsKey] = setup.Sampler.Timesteps.Count.ToString(CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.EtaKey] = setup.Sampler.Eta.ToString("R", CultureInfo.InvariantCulture),
        [StoredTrajectoryPairs.GuidanceScaleKey] = setup.Core.Sampling.GuidanceScale.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Csv(string field) =>
        field.IndexOfAny([',', '"']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
