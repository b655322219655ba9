using System.Text.Json;
using Spectre.Console;
using TailorPO.Reproduction.Measuring;
using TailorPO.Reproduction.Runs;

namespace TailorPO.Reproduction.Tests;

/// <summary>
/// The runner's share of two processes on one work folder, on cached stage files (nothing is trained, so no evaluator):
/// a reverse runner visits the seeds backwards but returns them in seed order, and a run or analysis whose lock another
/// process holds is waited for and then read, not computed again.
/// </summary>
public sealed class ComparisonRunnerTests : IDisposable
{
    private static readonly ComparisonSizing Sizing = ComparisonSizing.Quick;
    private static readonly ComparisonRun Run = new("tailorpo", "colorfulness", 0, Sizing.TrainedSteps, 2e-3);
    private readonly string _work = Directory.CreateTempSubdirectory("tailorpo-runner-").FullName;
    private readonly StringWriter _log = new();

    public void Dispose()
    {
        _log.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Seeds_come_back_in_seed_order_whichever_order_they_are_visited_in(bool reverse)
    {
        var runner = Runner(reverse);
        foreach (var seed in Sizing.Seeds) WriteStage(runner, Run.WithSeed(seed), Sizing.Budget);

        var results = await runner.SeedsAsync(Run, [Sizing.Budget], CancellationToken.None);

        Assert.Equal(Sizing.Seeds, results.Select(r => r.Run.Seed));
        // The log says the order they were visited in.
        var visited = _log.ToString().Split('\n').Where(l => l.Contains(" run ", StringComparison.Ordinal))
            .Select(l => Sizing.Seeds.Single(s => l.Contains($"-seed{s} ", StringComparison.Ordinal))).ToList();
        Assert.Equal(reverse ? Sizing.Seeds.Reverse() : Sizing.Seeds, visited);
    }

    [Fact]
    public async Task The_work_order_maps_every_item_once_and_returns_them_in_list_order()
    {
        var visited = new List<int>();
        var results = await WorkOrder.MapAsync([10, 20, 30], reverse: true, x =>
        {
            visited.Add(x);
            return Task.FromResult(x + 1);
        });
        Assert.Equal([30, 20, 10], visited);
        Assert.Equal([11, 21, 31], results);
        Assert.Equal([0, 1, 2], WorkOrder.Indices(3, reverse: false));
    }

    [Fact]
    public async Task A_run_another_process_is_training_is_waited_for_and_read_not_trained_again()
    {
        var runner = Runner(reverse: false);
        var run = Run.WithSeed(Sizing.Seeds[0]);
        Directory.CreateDirectory(runner.Folder(run));
        var other = WorkLock.TryAcquire(Path.Combine(runner.Folder(run), ".lock"))!;

        // Nothing is cached: the runner must wait for the lock (training now would need the evaluator it does not have).
        var waiting = runner.GetAsync(run, [Sizing.Budget], CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(waiting.IsCompleted);
        Assert.Contains($"waiting for run {run.Key}", _log.ToString(), StringComparison.Ordinal);

        // The other process writes the stage and releases: the runner reads it again after taking the lock.
        WriteStage(runner, run, Sizing.Budget);
        other.Dispose();
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Sizing.Budget, result.Stages.Single().Samples);
        Assert.DoesNotContain("trained in", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_analysis_another_process_is_computing_is_waited_for_and_read_not_computed_again()
    {
        var runner = Runner(reverse: false);
        var analyses = Path.Combine(_work, "analyses");
        Directory.CreateDirectory(analyses);
        var other = WorkLock.TryAcquire(Path.Combine(analyses, "x.lock"))!;
        // Between the other process's two writes: the json without its .seconds is not taken as finished.
        await File.WriteAllTextAsync(Path.Combine(analyses, "x.json"), "41");

        var waiting = Task.Run(() => runner.Cached<int>("x", () => throw new InvalidOperationException("computed again")));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(waiting.IsCompleted);

        await File.WriteAllTextAsync(Path.Combine(analyses, "x.json"), "42");
        await File.WriteAllTextAsync(Path.Combine(analyses, "x.seconds"), "7");
        other.Dispose();
        Assert.Equal(42, await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(7, runner.AnalysisSeconds["x"]);
    }

    private ComparisonRunner Runner(bool reverse)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_log), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 1000; // one log line per run, unwrapped
        // No evaluator: these tests only read cached results, so one would only be a cost.
        return new ComparisonRunner(Sizing, _work, evaluator: null!, console) { Reverse = reverse };
    }

    private static void WriteStage(ComparisonRunner runner, ComparisonRun run, int images)
    {
        var scores = new ImageSetScores(new Dictionary<string, double[]> { [run.Reward] = [1.0] }, new Dictionary<string, double[]> { [run.Reward] = [1.0] });
        var stage = new StageResult(images, 10, 100, 1.5, scores, 0.5, 0.1);
        Directory.CreateDirectory(runner.Folder(run));
        File.WriteAllText(Path.Combine(runner.Folder(run), $"stage-{images}.json"), JsonSerializer.Serialize(stage));
    }
}
