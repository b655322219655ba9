using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>The trainer reports its start, each checkpoint and a resume through the host's <c>ILogger&lt;PreferenceTrainer&gt;</c>.</summary>
public sealed class TrainerLoggingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-log-{Guid.NewGuid():N}");

    [Fact]
    public void Start_every_checkpoint_and_resume_are_logged()
    {
        var log = new RecordingLogger();
        int iterations;
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory, o.CheckpointEveryIterations) = (8, _folder, 1),
                   moreServices: s => s.AddSingleton<ILogger<PreferenceTrainer>>(log)))
        using (var trainer = setup.CreateTrainer())
        {
            iterations = trainer.Train().Iterations;
        }
        Assert.Contains(log.Messages, m => m.StartsWith("Training tailorpo", StringComparison.OrdinalIgnoreCase));
        // One checkpoint per iteration (CheckpointEveryIterations = 1) and the final one.
        var checkpoint = Path.Combine(_folder, PreferenceTrainer.CheckpointFolderName);
        Assert.Equal(iterations + 1, log.Messages.Count(m => m.StartsWith($"Checkpoint written to {checkpoint}", StringComparison.Ordinal)));

        log.Messages.Clear();
        using (var setup = new TrainerSetup(TrainingMethods.TailorPO, o => o.SampleBudget = 8, moreServices: s => s.AddSingleton<ILogger<PreferenceTrainer>>(log)))
        using (var trainer = setup.CreateTrainer())
        {
            trainer.ResumeFrom(checkpoint);
        }
        Assert.Contains(log.Messages, m => m.StartsWith("Resumed", StringComparison.Ordinal) && m.Contains($"iteration {iterations}"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private sealed class RecordingLogger : ILogger<PreferenceTrainer>
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add(formatter(state, exception));
        }
    }
}
