using System.Text.Json.Nodes;
using TailorPO.Training.Checkpoints;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// A process killed between the two renames of a checkpoint swap leaves the previous checkpoint in <c>.checkpoint.old-*</c>
/// and the new one in <c>.checkpoint.tmp-*</c>: recovery puts the newest complete, verified one into place and removes
/// the rest. The folder states are built from real checkpoints of two points of one run.
/// </summary>
public sealed class CheckpointRecoveryTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-recover-{Guid.NewGuid():N}");
    private readonly string _earlier;
    private readonly string _later;

    public CheckpointRecoveryTests()
    {
        var run = Path.Combine(_folder, "run");
        var checkpoint = Path.Combine(run, PreferenceTrainer.CheckpointFolderName);
        _earlier = Path.Combine(_folder, "earlier");
        _later = Path.Combine(_folder, "later");
        using (var setup = new TrainerSetup(TrainingMethods.Ddpo, o => (o.SampleBudget, o.CheckpointDirectory) = (4, run)))
        using (var trainer = setup.CreateTrainer())
            trainer.Train();
        Copy(checkpoint, _earlier);
        using (var setup = new TrainerSetup(TrainingMethods.Ddpo, o => (o.SampleBudget, o.CheckpointDirectory) = (8, run)))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(checkpoint);
            trainer.Train();
        }
        Copy(checkpoint, _later);
        Directory.Delete(run, recursive: true);
        Assert.True(Iterations(_later) > Iterations(_earlier));
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private string Run => Path.Combine(_folder, "run");

    private string Checkpoint => Path.Combine(Run, PreferenceTrainer.CheckpointFolderName);

    private string Leftover(string kind) => Path.Combine(Run, $".{PreferenceTrainer.CheckpointFolderName}.{kind}-{Guid.NewGuid():N}");

    [Fact]
    public void Killed_between_the_renames_the_newer_staged_checkpoint_is_moved_into_place_and_resumes()
    {
        Copy(_earlier, Leftover("old"));
        Copy(_later, Leftover("tmp"));

        Assert.True(TrainingCheckpoint.Recover(Checkpoint));

        Assert.Equal(Iterations(_later), Iterations(Checkpoint));
        Assert.Equal([Checkpoint], Directory.GetDirectories(Run));
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = 12);
        using var trainer = setup.CreateTrainer();
        trainer.ResumeFrom(Checkpoint);
        Assert.Equal(Iterations(_later), trainer.Context.Iteration);
    }

    [Fact]
    public void The_trainer_recovers_an_interrupted_swap_itself_on_resume()
    {
        Copy(_earlier, Leftover("old"));
        Copy(_later, Leftover("tmp"));
        using var setup = new TrainerSetup(TrainingMethods.Ddpo, o => o.SampleBudget = 12);
        using var trainer = setup.CreateTrainer();
        trainer.ResumeFrom(Checkpoint);
        Assert.Equal(Iterations(_later), trainer.Context.Iteration);
        Assert.Equal([Checkpoint], Directory.GetDirectories(Run));
    }

    [Fact]
    public void A_staged_checkpoint_without_its_manifest_is_passed_over_for_the_retired_complete_one()
    {
        var staged = Leftover("tmp");
        Copy(_later, staged);
        File.Delete(Path.Combine(staged, TrainingCheckpoint.CountersFile));
        Copy(_earlier, Leftover("old"));

        Assert.True(TrainingCheckpoint.Recover(Checkpoint));

        Assert.Equal(Iterations(_earlier), Iterations(Checkpoint));
        Assert.Equal([Checkpoint], Directory.GetDirectories(Run));
    }

    [Fact]
    public void A_staged_checkpoint_whose_checksum_fails_is_passed_over_for_the_retired_one()
    {
        var staged = Leftover("tmp");
        Copy(_later, staged);
        var tensors = Path.Combine(staged, TrainingCheckpoint.TensorFile);
        var bytes = File.ReadAllBytes(tensors);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(tensors, bytes);
        Copy(_earlier, Leftover("old"));

        Assert.True(TrainingCheckpoint.Recover(Checkpoint));

        Assert.Equal(Iterations(_earlier), Iterations(Checkpoint));
        Assert.Equal([Checkpoint], Directory.GetDirectories(Run));
    }

    [Fact]
    public void With_the_checkpoint_in_place_it_is_kept_and_the_leftovers_are_removed()
    {
        Copy(_earlier, Checkpoint);
        Copy(_later, Leftover("tmp"));
        Copy(_earlier, Leftover("old"));

        Assert.True(TrainingCheckpoint.Recover(Checkpoint));

        Assert.Equal(Iterations(_earlier), Iterations(Checkpoint));
        Assert.Equal([Checkpoint], Directory.GetDirectories(Run));
    }

    [Fact]
    public void Nothing_complete_to_recover_reports_no_checkpoint_and_removes_the_partial_leftover()
    {
        var staged = Leftover("tmp");
        Copy(_later, staged);
        File.Delete(Path.Combine(staged, TrainingCheckpoint.TensorFile));

        Assert.False(TrainingCheckpoint.Recover(Checkpoint));

        Assert.Empty(Directory.GetDirectories(Run));
        Assert.False(TrainingCheckpoint.Recover(Path.Combine(_folder, "no-such-run", PreferenceTrainer.CheckpointFolderName)));
    }

    private static int Iterations(string checkpoint) =>
        (int)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainingCheckpoint.CountersFile)))!["Iterations"]!;

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
