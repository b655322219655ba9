using TailorPO.Core.Abstractions;
using TailorPO.Core.Sampling;
using TailorPO.Diffusion.Imaging;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Core.Safetensors;
using TailorPO.Labeling.Cli;
using TailorPO.Labeling.Storage;
using TailorPO.Labeling.Tasks;
using TailorPO.Shapes;
using TailorPO.Training.Pairs;
using static TorchSharp.torch;

namespace TailorPO.Labeling.Tests;

public sealed class TaskGeneratorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Trajectory_pairs_share_x_T_and_store_latents_that_the_sampler_rescores_to_the_stored_log_probabilities()
    {
        const string prompt = "a red circle on a plain white background";
        var options = new TaskGenerationOptions { Steps = 3, PairsPerPrompt = 1, Seed = 5 };
        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        var pair = Assert.Single(new TaskGenerator(pipeline, "embedded", options).TrajectoryPairs([prompt], _folder.Path));
        Assert.Equal((PairKinds.Trajectory, prompt, 5L), (pair.Kind, pair.Prompt, pair.Seed));

        using var scope = NewDisposeScope();
        var a = SafetensorsFile.LoadAll(Path.Combine(_folder.Path, pair.TrajectoryA!));
        var b = SafetensorsFile.LoadAll(Path.Combine(_folder.Path, pair.TrajectoryB!));
        var size = pipeline.DefaultImageSize;
        Assert.Equal(new long[] { options.Steps + 1, pipeline.Unet.Config.InChannels, size, size }, a[StoredTrajectoryPairs.LatentsName].shape);
        Assert.True(a[StoredTrajectoryPairs.LatentsName][0].allclose(b[StoredTrajectoryPairs.LatentsName][0], rtol: 0, atol: 0), "both trajectories start from one x_T");
        Assert.False(a[StoredTrajectoryPairs.LatentsName][^1].allclose(b[StoredTrajectoryPairs.LatentsName][^1], rtol: 0, atol: 1e-3), "eta > 0 makes the two trajectories differ");

        // Replaying each stored transition under the same weights gives back the stored log-probability (what D3PO re-scores).
        var sampler = DdimSampler.ForGeneration(pipeline.NoisePredictor, pipeline.Schedule, options.Steps, options.Eta);
        Assert.Equal(sampler.Timesteps, a[StoredTrajectoryPairs.TimestepsName].data<long>().ToArray());
        using var noGrad = no_grad();
        var condition = pipeline.EncodePrompts([prompt], null, options.GuidanceScale);
        foreach (var trajectory in new[] { a, b })
        {
            var latents = trajectory[StoredTrajectoryPairs.LatentsName];
            var stored = trajectory[StoredTrajectoryPairs.LogProbabilitiesName];
            for (var i = 0; i < options.Steps; i++)
            {
                var score = sampler.Score(new SamplerTransition(i, latents[i].unsqueeze(0), latents[i + 1].unsqueeze(0), stored[i].unsqueeze(0)), condition);
                Assert.Equal(stored[i].item<float>(), score.LogProbability[0].item<float>(), 3e-4f);
            }
        }

        // The PNG is the decoded final latent of its trajectory.
        var decoded = pipeline.Decoder.DecodeToImages(a[StoredTrajectoryPairs.LatentsName][^1].unsqueeze(0)).cpu()[0];
        var png = ImageTensors.Load(Path.Combine(_folder.Path, pair.ImageA));
        Assert.True((png - decoded).abs().max().item<float>() <= 1f / 255 + 1e-6f, "the PNG holds the decoded final latent to 8-bit rounding");
    }

    [Fact]
    public void An_empty_prompts_file_is_refused_with_what_to_write()
    {
        var file = Path.Combine(_folder.Path, "prompts.txt");
        File.WriteAllLines(file, ["", "# only a comment", "   "]);
        var error = Assert.Throws<LabelingException>(() => PromptFile.Read(file));
        Assert.Contains("holds no prompt", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<LabelingException>(() => PromptFile.Read(Path.Combine(_folder.Path, "missing.txt"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_data_folder_is_refused_before_any_generation()
    {
        var file = Path.Combine(_folder.Path, "a-file");
        File.WriteAllText(file, "not a folder");
        using var pipeline = StableDiffusionPipeline.FromPretrained(EmbeddedModel.Folder);
        var generator = new TaskGenerator(pipeline, "embedded", new TaskGenerationOptions { Steps = 2, PairsPerPrompt = 1 });
        var error = Assert.Throws<LabelingException>(() => generator.TrajectoryPairs(["a red circle"], Path.Combine(file, "data")));
        Assert.Contains("not writable", error.Message, StringComparison.Ordinal);
        Assert.Contains("eta", Assert.Throws<LabelingException>(() => new TaskGenerator(pipeline, "embedded", new TaskGenerationOptions { Eta = 0 })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_and_winrate_refuse_a_database_of_a_newer_schema_through_the_command_line()
    {
        var data = Path.Combine(_folder.Path, "data");
        TestData.StoreWithPairs(data, 1, 1);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, LabelingCommands.DatabaseFileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {SchemaMigrations.CurrentVersion + 1};";
            command.ExecuteNonQuery();
        }
        foreach (var args in new[] { new[] { "export", "--data", data }, ["winrate", "--labels", data] })
        {
            var error = await Assert.ThrowsAsync<LabelingException>(() => LabelingCommands.RunAsync(CommandLine.Parse(args), TextWriter.Null, default));
            Assert.Contains("newer than this build's", error.Message, StringComparison.Ordinal);
        }
        Assert.Contains("takes no option", Assert.Throws<LabelingException>(() => CommandLine.Parse(["export", "--port", "1"])).Message, StringComparison.Ordinal);
    }
}
