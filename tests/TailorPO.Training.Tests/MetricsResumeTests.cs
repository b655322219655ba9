using Microsoft.Extensions.DependencyInjection;
using TailorPO.Training.Metrics;
using TailorPO.Training.Options;

namespace TailorPO.Training.Tests;

/// <summary>
/// metrics.csv and metrics.jsonl after an interrupted run: the checkpoint records their lengths, and resume cuts them
/// back to those lengths, so rows written after the checkpoint (and a line a kill cut in half) are dropped and the files
/// end with exactly the rows of an uninterrupted run.
/// </summary>
public sealed class MetricsResumeTests : IDisposable
{
    private const int Budget = 12;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"tailorpo-metrics-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Rows_written_after_the_checkpoint_and_a_half_written_line_are_dropped_on_resume()
    {
        var uninterrupted = Path.Combine(_folder, "uninterrupted");
        Train(uninterrupted, Budget);
        var run = Path.Combine(_folder, "run");
        Train(run, 4);
        // What a process killed after its checkpoint leaves: the next iteration's rows, then a line cut short.
        var csvRows = File.ReadAllLines(Path.Combine(uninterrupted, "metrics.csv"));
        var jsonRows = File.ReadAllLines(Path.Combine(uninterrupted, "metrics.jsonl"));
        var writtenCsv = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length;
        var writtenJson = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length;
        File.AppendAllText(Path.Combine(run, "metrics.csv"), csvRows[writtenCsv] + "\n" + csvRows[writtenCsv + 1][..10]);
        File.AppendAllText(Path.Combine(run, "metrics.jsonl"), jsonRows[writtenJson] + "\n" + jsonRows[writtenJson + 1][..10]);

        Train(run, Budget, resume: true);

        AssertSameRows(uninterrupted, run);
    }

    [Fact]
    public void A_cancelled_iterations_rows_are_rolled_back_with_it_and_not_written_twice()
    {
        var uninterrupted = Path.Combine(_folder, "uninterrupted");
        Train(uninterrupted, Budget);
        var run = Path.Combine(_folder, "run");
        using (var cancellation = new CancellationTokenSource())
        {
            // Cancels while the third iteration is writing its rows.
            var canceller = new CancelOnIteration(2, cancellation);
            Assert.Throws<OperationCanceledException>(() => Train(run, Budget, resume: false, canceller, cancellation.Token));
        }
        Train(run, Budget, resume: true);

        AssertSameRows(uninterrupted, run);
    }

    private void Train(string folder, int budget, bool resume = false, ITrainingMetricsSink? extra = null, CancellationToken cancellationToken = default)
    {
        using var setup = new TrainerSetup(TrainingMethods.TailorPO, o => (o.SampleBudget, o.CheckpointDirectory, o.CheckpointEveryIterations) = (budget, folder, 1),
            moreServices: services =>
            {
                services.AddSingleton<ITrainingMetricsSink>(_ => new CsvMetricsSink(Path.Combine(folder, "metrics.csv")));
                services.AddSingleton<ITrainingMetricsSink>(_ => new JsonLinesMetricsSink(Path.Combine(folder, "metrics.jsonl")));
                if (extra is not null) services.AddSingleton(extra);
            });
        using var trainer = setup.CreateTrainer();
        if (resume) trainer.ResumeFrom(Path.Combine(folder, PreferenceTrainer.CheckpointFolderName));
        trainer.Train(cancellationToken: cancellationToken);
    }

    /// <summary>Both files hold the uninterrupted run's rows, once each and whole (the wall-clock column aside).</summary>
    private static void AssertSameRows(string expectedFolder, string actualFolder)
    {
        var timeColumn = CsvMetricsSink.Columns.ToList().IndexOf("wall_seconds");
        static string[] Csv(string folder, int skip) => File.ReadAllLines(Path.Combine(folder, "metrics.csv"))
            .Select(line => string.Join(',', line.Split(',').Where((_, i) => i != skip))).ToArray();
        var expectedCsv = Csv(expectedFolder, timeColumn);
        Assert.True(expectedCsv.Length > 6, "the reference run wrote too few rows to test with");
        Assert.Equal(expectedCsv, Csv(actualFolder, timeColumn));
        static string[] Json(string folder) => File.ReadAllLines(Path.Combine(folder, "metrics.jsonl"))
            .Select(line => System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject())
            .Select(row =>
            {
                row.Remove("wall_seconds");
                return row.ToJsonString();
            }).ToArray();
        Assert.Equal(Json(expectedFolder), Json(actualFolder));
    }

    private sealed class CancelOnIteration(int iteration, CancellationTokenSource cancellation) : ITrainingMetricsSink
    {
        public void Write(TrainingStepMetrics metrics)
        {
            if (metrics.Iteration == iteration) cancellation.Cancel();
        }

        public void Flush()
        {
        }
    }
}
