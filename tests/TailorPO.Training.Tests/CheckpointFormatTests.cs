using System.Text.Json.Nodes;
using TailorPO.Core.Safetensors;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// Checkpoints are safetensors plus a JSON manifest that any tool reads; the manifest's checksums catch a changed or
/// damaged file, and a checkpoint of the earlier format is refused with a message that says what to do.
/// </summary>
public sealed class CheckpointFormatTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-ckpt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private string WriteCheckpoint()
    {
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => (o.SampleBudget, o.CheckpointDirectory) = (4, _folder));
        using var trainer = setup.CreateTrainer();
        trainer.Train();
        return Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);
    }

    [Fact]
    public void A_checkpoint_is_safetensors_and_a_json_manifest_with_checksums()
    {
        var checkpoint = WriteCheckpoint();
        string[] expected = [TrainingCheckpoint.AdapterFile, TrainingCheckpoint.TensorFile, TrainingCheckpoint.CountersFile];
        Assert.Equal(expected.Order(StringComparer.Ordinal), Directory.GetFiles(checkpoint).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));
        using (var state = SafetensorsFile.Open(Path.Combine(checkpoint, TrainingCheckpoint.TensorFile)))
        {
            Assert.Contains("generator", state.Names);
            Assert.Equal("U8", state.Entries["generator"].DType);
            Assert.Contains(state.Names, n => n != "generator"); // the optimizer's moments
        }
        // adapter.safetensors is whatever IAdapter.Save writes: PEFT safetensors for LoraAdapter (the samples' align tests
        // load it back); this test's tiny adapter writes its own small file.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainingCheckpoint.CountersFile)))!;
        Assert.Equal(TrainingCheckpoint.FormatVersion, (int)manifest["FormatVersion"]!);
        Assert.Equal("ddpo", (string)manifest["Method"]!);
        Assert.NotNull(manifest["MethodState"]); // DDPO's per-prompt statistics, as its IStatefulComponent state
        Assert.Equal(64, ((string)manifest["Files"]![TrainingCheckpoint.TensorFile]!).Length);
    }

    [Theory]
    [InlineData(TrainingCheckpoint.TensorFile)]
    [InlineData(TrainingCheckpoint.AdapterFile)]
    public void A_flipped_bit_in_a_checkpoint_file_is_refused_naming_the_file(string file)
    {
        var checkpoint = WriteCheckpoint();
        var path = Path.Combine(checkpoint, file);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = 8);
        using var trainer = setup.CreateTrainer();
        var error = Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(checkpoint));
        Assert.Contains(path, error.Message);
        Assert.Contains("sha256", error.Message);
    }

    [Fact]
    public void A_checkpoint_of_the_earlier_format_is_refused_saying_what_to_do()
    {
        var checkpoint = WriteCheckpoint();
        File.Move(Path.Combine(checkpoint, TrainingCheckpoint.TensorFile), Path.Combine(checkpoint, "state.bin"));
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = 8);
        using var trainer = setup.CreateTrainer();
        var error = Assert.Throws<InvalidDataException>(() => trainer.ResumeFrom(checkpoint));
        Assert.Contains("earlier TailorPO.NET version", error.Message);
        Assert.Contains("start the run again", error.Message);
    }
}
