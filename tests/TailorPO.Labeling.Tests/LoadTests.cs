using System.Diagnostics;
using TailorPO.Labeling.Storage;
using Xunit.Abstractions;

namespace TailorPO.Labeling.Tests;

/// <summary>
/// 20 concurrent scripted annotators on loopback cast 2,000 votes (100 pairs, each to all 20): none lost, none
/// duplicated; and a kill -9 of the server in the middle of that load loses no acknowledged vote and the server
/// restarts on the same database.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output) : IDisposable
{
    private const int Annotators = 20, Pairs = 100, Votes = Annotators * Pairs;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(240);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Twenty_concurrent_annotators_cast_2000_votes_with_none_lost_or_duplicated()
    {
        var store = TestData.StoreWithPairs(_folder.Path, Pairs, Annotators);
        var tokens = Enumerable.Range(0, Annotators).Select(i => store.CreateAnnotator($"load{i}").Token).ToList();
        using var server = ServerProcess.Start(_folder.Path, Annotators);
        var script = new ScriptedAnnotators();
        using var budget = new CancellationTokenSource(Budget);
        var clock = Stopwatch.StartNew();
        await script.RunAsync(server.Address, tokens, Pairs + 5, null, budget.Token);
        clock.Stop();

        var votes = store.Votes();
        output.WriteLine($"{votes.Count} votes from {Annotators} annotators in {clock.Elapsed.TotalSeconds:F1} s ({votes.Count / clock.Elapsed.TotalSeconds:F0} votes/s); " +
            $"vote POST latency p50 {script.QuantileMilliseconds(0.5):F1} ms, p95 {script.QuantileMilliseconds(0.95):F1} ms, max {script.QuantileMilliseconds(1):F1} ms");
        Assert.False(budget.IsCancellationRequested, $"The load did not finish within {Budget.TotalSeconds} s.");
        Assert.Empty(script.Refusals);
        Assert.Equal(Votes, script.Acknowledged.Count);
        Assert.Equal(Votes, votes.Count);                                               // 0 lost
        Assert.Equal(Votes, votes.Select(v => (v.AnnotatorId, v.PairId)).Distinct().Count()); // 0 duplicated
        Assert.All(store.Tallies(), t => Assert.Equal(Annotators, t.Ratings));
    }

    [Fact]
    public async Task Kill_9_during_the_load_loses_no_acknowledged_vote_and_the_server_restarts_on_the_same_database()
    {
        var store = TestData.StoreWithPairs(_folder.Path, Pairs, Annotators);
        var tokens = Enumerable.Range(0, Annotators).Select(i => store.CreateAnnotator($"crash{i}").Token).ToList();
        var ids = store.Annotators().ToDictionary(a => a.Annotator.Name, a => a.Annotator.Id);
        var tokenToId = tokens.Select((t, i) => (t, ids[$"crash{i}"])).ToDictionary(x => x.t, x => x.Item2);
        var script = new ScriptedAnnotators();
        using var budget = new CancellationTokenSource(Budget);

        using (var server = ServerProcess.Start(_folder.Path, Annotators))
        {
            var load = script.RunAsync(server.Address, tokens, Pairs + 5, null, budget.Token);
            var waited = Stopwatch.StartNew();
            while (script.Acknowledged.Count < Votes / 4 && waited.Elapsed < Budget && !load.IsCompleted) await Task.Delay(20);
            server.KillHard();
            await load;
        }
        var acknowledged = script.Acknowledged.ToList();
        output.WriteLine($"kill -9 after {acknowledged.Count} acknowledged votes");
        Assert.InRange(acknowledged.Count, 1, Votes - 1);

        // Every vote the server acknowledged is in the database (a vote committed but not acknowledged may be too).
        var afterCrash = store.Votes();
        using (var connection = LabelDatabase.Open(store.DatabasePath).Connect())
        {
            var stored = afterCrash.Select(v => v.AnnotatorId).ToList();
            foreach (var (token, assignment) in acknowledged)
            {
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT COUNT(*) FROM votes WHERE assignment_id = $a AND annotator_id = $n;";
                command.Parameters.AddWithValue("$a", assignment);
                command.Parameters.AddWithValue("$n", tokenToId[token]);
                Assert.Equal(1L, (long)command.ExecuteScalar()!);
            }
        }
        output.WriteLine($"{afterCrash.Count} votes in the database after the crash ({afterCrash.Count - acknowledged.Count} committed but not acknowledged)");

        // The server restarts on the same database and the annotators finish.
        using (var restarted = ServerProcess.Start(_folder.Path, Annotators))
            await script.RunAsync(restarted.Address, tokens, Pairs + 5, null, budget.Token);
        var votes = store.Votes();
        Assert.False(budget.IsCancellationRequested, $"The load did not finish within {Budget.TotalSeconds} s.");
        Assert.Equal(Votes, votes.Count);
        Assert.Equal(Votes, votes.Select(v => (v.AnnotatorId, v.PairId)).Distinct().Count());
        output.WriteLine($"after the restart: {votes.Count} votes, p95 vote latency {script.QuantileMilliseconds(0.95):F1} ms");
    }
}
