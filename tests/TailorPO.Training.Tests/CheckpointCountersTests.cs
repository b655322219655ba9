using System.Text.Json.Nodes;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// A manifest whose checksums match can still hold counters that make no sense (edited by hand, or written by a bug):
/// resume refuses them with a message naming the file and the field, and changes nothing.
/// </summary>
public sealed class CheckpointCountersTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-counters-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData("Samples", -100, "Samples = -100; a counter cannot be negative")]
    [InlineData("Iterations", -1, "Iterations = -1; a counter cannot be negative")]
    [InlineData("PromptPosition", -3, "PromptPosition = -3; a counter cannot be negative")]
    [InlineData("SkippedUpdates", 1000, "SkippedUpdates = 1000, more than its Updates")]
    [InlineData("OptimizerSteps", 1000, "OptimizerSteps = 1000, more than its Updates")]
    [InlineData("Samples", 1000, "Samples = 1000 after {iterations} iterations, past the sample budget of 16")]
    public void A_counter_that_does_not_fit_is_refused_naming_the_file_and_the_field(string field, long value, string message)
    {
        var checkpoint = WriteCheckpoint();
        var manifestPath = Path.Combine(checkpoint, TrainingCheckpoint.CountersFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        message = message.Replace("{iterations}", ((int)manifest["Iterations"]!).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        manifest[field] = value;
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = 16);
        using var trainer = setup.CreateTrainer();
        var before = setup.AdapterValues();
        var error = Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(checkpoint));

        Assert.Contains($"'{manifestPath}' has {message}", error.Message);
        Assert.Equal(0, trainer.Context.Samples);
        Assert.Equal(before, setup.AdapterValues());
    }

    [Fact]
    public void A_finished_run_resumes_at_its_own_budget_and_a_larger_one()
    {
        var checkpoint = WriteCheckpoint();
        var samples = (long)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainingCheckpoint.CountersFile)))!["Samples"]!;
        foreach (var budget in new[] { 12, 16 })
        {
            using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = budget);
            using var trainer = setup.CreateTrainer();
            trainer.ResumeFrom(checkpoint);
            Assert.Equal(samples, trainer.Context.Samples);
        }
    }

    private string WriteCheckpoint()
    {
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => (o.SampleBudget, o.CheckpointDirectory) = (12, _folder));
        using var trainer = setup.CreateTrainer();
        trainer.Train();
        return Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);
    }
}
