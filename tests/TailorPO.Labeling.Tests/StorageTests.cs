using Microsoft.Data.Sqlite;
using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

public sealed class StorageTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_new_database_is_migrated_to_the_current_schema_in_WAL_mode()
    {
        var database = LabelDatabase.Open(Path.Combine(_folder.Path, "labels.db"));
        using var connection = database.Connect();
        Assert.Equal(SchemaMigrations.CurrentVersion, LabelDatabase.SchemaVersion(connection));
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)command.ExecuteScalar());
        // Opening again runs no migration twice.
        LabelDatabase.Open(database.Path);
    }

    [Fact]
    public void A_database_of_a_newer_schema_is_refused_with_a_message_that_says_what_to_do()
    {
        var path = Path.Combine(_folder.Path, "labels.db");
        LabelDatabase.Open(path);
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {SchemaMigrations.CurrentVersion + 1};";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<LabelingException>(() => LabelDatabase.Open(path));
        Assert.Contains("newer than this build's", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_database_in_an_unwritable_place_is_refused_clearly()
    {
        var file = Path.Combine(_folder.Path, "not-a-folder");
        File.WriteAllText(file, "x");
        var error = Assert.Throws<LabelingException>(() => LabelDatabase.Open(Path.Combine(file, "labels.db")));
        Assert.Contains("--data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Votes_are_append_only()
    {
        var store = TestData.StoreWithPairs(_folder.Path, 1, 1);
        var (annotator, _) = store.CreateAnnotator("ann");
        var assignment = store.NextAssignment(annotator)!;
        Assert.Equal(VoteOutcome.Recorded, store.RecordVote(annotator, assignment.Id, Answer.Left));
        Assert.Equal(VoteOutcome.AlreadyVoted, store.RecordVote(annotator, assignment.Id, Answer.Right));

        using var connection = LabelDatabase.Open(store.DatabasePath).Connect();
        foreach (var sql in new[] { "UPDATE votes SET answer = 'right';", "DELETE FROM votes;" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var error = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains("append-only", error.Message, StringComparison.Ordinal);
        }
        var vote = Assert.Single(store.Votes());
        Assert.Equal("left", vote.Answer);
    }

    [Theory]
    [InlineData("left", true, "a")]
    [InlineData("left", false, "b")]
    [InlineData("right", true, "b")]
    [InlineData("right", false, "a")]
    [InlineData("tie", false, "tie")]
    [InlineData("skip", true, "skip")]
    public void A_vote_records_the_order_shown_and_what_it_chose(string answerName, bool aOnLeft, string choice)
    {
        var answer = LabelStore.ParseAnswer(answerName)!.Value;
        var store = TestData.StoreWithPairs(_folder.Path, 40, 1);
        var (annotator, _) = store.CreateAnnotator("ann");
        // The side of A is random per assignment: vote on the first assignment that put A where the case wants it.
        for (var i = 0; i < 40; i++)
        {
            var assignment = store.NextAssignment(annotator)!;
            if (assignment.AOnLeft != aOnLeft)
            {
                store.RecordVote(annotator, assignment.Id, Answer.Skip);
                continue;
            }
            Assert.Equal(VoteOutcome.Recorded, store.RecordVote(annotator, assignment.Id, answer));
            var vote = store.Votes()[^1];
            Assert.Equal(aOnLeft, vote.AOnLeft);
            Assert.Equal(choice, vote.Choice);
            return;
        }
        Assert.Fail("40 assignments never put A on the wanted side (probability 2^-40).");
    }

    [Fact]
    public void Each_pair_goes_to_N_annotators_and_never_twice_to_one()
    {
        const int pairs = 5, perPair = 2, annotators = 4;
        var store = TestData.StoreWithPairs(_folder.Path, pairs, perPair);
        var seen = new Dictionary<long, List<long>>();
        for (var a = 0; a < annotators; a++)
        {
            var (annotator, _) = store.CreateAnnotator($"ann{a}");
            for (var step = 0; step < pairs + 1; step++)
            {
                var assignment = store.NextAssignment(annotator);
                if (assignment is null) break;
                Assert.Equal(assignment, store.NextAssignment(annotator)); // an unanswered pair stays on screen
                seen.TryAdd(annotator.Id, []);
                Assert.DoesNotContain(assignment.PairId, seen[annotator.Id]);
                seen[annotator.Id].Add(assignment.PairId);
                Assert.Equal(VoteOutcome.Recorded, store.RecordVote(annotator, assignment.Id, Answer.Tie));
            }
        }
        var perPairCounts = store.Tallies().Select(t => t.Tie).ToList();
        Assert.All(perPairCounts, count => Assert.Equal(perPair, count));
        Assert.Equal(pairs * perPair, seen.Values.Sum(l => l.Count));
    }

    [Fact]
    public void A_skip_frees_the_pair_for_another_annotator()
    {
        var store = TestData.StoreWithPairs(_folder.Path, 1, 1);
        var (first, _) = store.CreateAnnotator("first");
        var (second, _) = store.CreateAnnotator("second");
        var assignment = store.NextAssignment(first)!;
        Assert.Null(store.NextAssignment(second));
        store.RecordVote(first, assignment.Id, Answer.Skip);
        Assert.NotNull(store.NextAssignment(second));
        Assert.Null(store.NextAssignment(first));
        Assert.Equal(new LabelProgress(1, 0), store.Progress(first));
    }

    [Fact]
    public void A_vote_on_another_annotators_assignment_is_refused_and_nothing_is_written()
    {
        var store = TestData.StoreWithPairs(_folder.Path, 2, 2);
        var (owner, _) = store.CreateAnnotator("owner");
        var (other, _) = store.CreateAnnotator("other");
        var assignment = store.NextAssignment(owner)!;
        Assert.Equal(VoteOutcome.NotAssigned, store.RecordVote(other, assignment.Id, Answer.Left));
        Assert.Equal(VoteOutcome.NotAssigned, store.RecordVote(other, 999_999, Answer.Left));
        Assert.Empty(store.Votes());
        Assert.Null(store.ImageFileFor(other, assignment.LeftImageId));
        Assert.NotNull(store.ImageFileFor(owner, assignment.LeftImageId));
    }

    [Fact]
    public void A_revoked_token_finds_no_annotator_and_tokens_are_stored_hashed()
    {
        var store = TestData.StoreWithPairs(_folder.Path, 1, 1);
        var (annotator, token) = store.CreateAnnotator("ann");
        Assert.Equal(annotator.Id, store.FindActiveAnnotator(token)!.Id);
        Assert.True(store.RevokeAnnotator(annotator.Id));
        Assert.Null(store.FindActiveAnnotator(token));
        Assert.Null(store.FindActiveAnnotator("../../etc/passwd"));
        var files = new[] { store.DatabasePath, store.DatabasePath + "-wal" }.Where(File.Exists);
        Assert.All(files, file => Assert.DoesNotContain(token, File.ReadAllText(file, System.Text.Encoding.Latin1), StringComparison.Ordinal));
        Assert.Contains(files, file => File.ReadAllText(file, System.Text.Encoding.Latin1).Contains(AnnotatorTokens.Hash(token), StringComparison.Ordinal));
    }
}
