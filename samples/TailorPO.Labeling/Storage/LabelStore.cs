using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace TailorPO.Labeling.Storage;

/// <summary>
/// Every read and write of the labelling database. Each write is one IMMEDIATE transaction, so concurrent requests
/// serialize on SQLite's write lock and a committed vote is on disk before the browser hears of it. Votes are
/// append-only (triggers refuse UPDATE and DELETE); a pair goes to at most <see cref="AnnotatorsPerPair"/> annotators,
/// never twice to the same one (a UNIQUE constraint, not only this code, enforces it).
/// </summary>
internal sealed class LabelStore
{
    private readonly LabelDatabase _database;

    /// <summary>Creates the store over an opened database.</summary>
    /// <param name="database">The database.</param>
    /// <param name="annotatorsPerPair">N: how many annotators label each pair (skips do not count).</param>
    public LabelStore(LabelDatabase database, int annotatorsPerPair)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (annotatorsPerPair < 1) throw new ArgumentOutOfRangeException(nameof(annotatorsPerPair), annotatorsPerPair, "Each pair needs at least one annotator.");
        (_database, AnnotatorsPerPair) = (database, annotatorsPerPair);
    }

    /// <summary>N, the annotators per pair.</summary>
    public int AnnotatorsPerPair { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath => _database.Path;

    /// <summary>Creates an annotator; returns it and the secret token of their link (shown once, stored hashed).</summary>
    public (Annotator Annotator, string Token) CreateAnnotator(string name)
    {
        name = (name ?? "").Trim();
        if (name.Length is 0 or > 100) throw new ArgumentException("An annotator's name must have 1 to 100 characters.", nameof(name));
        var token = AnnotatorTokens.Create();
        var now = DateTimeOffset.UtcNow;
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO annotators (name, token_hash, created_at) VALUES ($name, $hash, $now) RETURNING id;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$hash", AnnotatorTokens.Hash(token));
        command.Parameters.AddWithValue("$now", Format(now));
        var id = (long)command.ExecuteScalar()!;
        return (new Annotator(id, name, now, null), token);
    }

    /// <summary>Revokes an annotator's link at once; their votes stay. Returns false when there is no such annotator.</summary>
    public bool RevokeAnnotator(long id)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE annotators SET revoked_at = COALESCE(revoked_at, $now) WHERE id = $id;";
        command.Parameters.AddWithValue("$now", Format(DateTimeOffset.UtcNow));
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>The active (not revoked) annotator a token belongs to, or null.</summary>
    public Annotator? FindActiveAnnotator(string? token)
    {
        if (!AnnotatorTokens.IsWellFormed(token)) return null;
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, created_at, revoked_at FROM annotators WHERE token_hash = $hash;";
        command.Parameters.AddWithValue("$hash", AnnotatorTokens.Hash(token!));
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var annotator = ReadAnnotator(reader);
        // Constant-time comparison is not needed: the look-up is by hash, and the hash of a guess reveals nothing.
        return annotator.IsRevoked ? null : annotator;
    }

    /// <summary>Every annotator, oldest first.</summary>
    public IReadOnlyList<(Annotator Annotator, int Votes)> Annotators()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.id, a.name, a.created_at, a.revoked_at, (SELECT COUNT(*) FROM votes v WHERE v.annotator_id = a.id)
            FROM annotators a ORDER BY a.id;
            """;
        using var reader = command.ExecuteReader();
        var list = new List<(Annotator, int)>();
        while (reader.Read()) list.Add((ReadAnnotator(reader), reader.GetInt32(4)));
        return list;
    }

    /// <summary>Stores generated pairs (and their images) in one transaction; returns their ids.</summary>
    public IReadOnlyList<long> AddPairs(IEnumerable<NewPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction();
        var ids = new List<long>();
        var now = Format(DateTimeOffset.UtcNow);
        foreach (var pair in pairs)
        {
            if (pair.Kind is not (PairKinds.Trajectory or PairKinds.Model))
                throw new ArgumentException($"Unknown pair kind '{pair.Kind}'.", nameof(pairs));
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO images (id, file) VALUES ($ida, $a);
                INSERT INTO images (id, file) VALUES ($idb, $b);
                INSERT INTO pairs (kind, prompt, seed, image_a, image_b, source_a, source_b, trajectory_a, trajectory_b, created_at)
                VALUES ($kind, $prompt, $seed, (SELECT id FROM images WHERE file = $a), (SELECT id FROM images WHERE file = $b),
                        $sa, $sb, $ta, $tb, $now)
                RETURNING id;
                """;
            // Random image ids: sequential ones would tell which side of a pair is A (always the older image).
            command.Parameters.AddWithValue("$ida", RandomImageId());
            command.Parameters.AddWithValue("$idb", RandomImageId());
            command.Parameters.AddWithValue("$a", pair.ImageA);
            command.Parameters.AddWithValue("$b", pair.ImageB);
            command.Parameters.AddWithValue("$kind", pair.Kind);
            command.Parameters.AddWithValue("$prompt", pair.Prompt);
            command.Parameters.AddWithValue("$seed", pair.Seed);
            command.Parameters.AddWithValue("$sa", pair.SourceA);
            command.Parameters.AddWithValue("$sb", pair.SourceB);
            command.Parameters.AddWithValue("$ta", (object?)pair.TrajectoryA ?? DBNull.Value);
            command.Parameters.AddWithValue("$tb", (object?)pair.TrajectoryB ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", now);
            ids.Add((long)command.ExecuteScalar()!);
        }
        transaction.Commit();
        return ids;
    }

    /// <summary>Number of stored pairs.</summary>
    public int PairCount()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM pairs;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The pair the annotator labels next: the one already shown and not yet answered, else the least-labelled pair
    /// they have never been shown that still needs annotators, with a random side for image A (recorded). Null when
    /// nothing is left for them.
    /// </summary>
    public Assignment? NextAssignment(Annotator annotator)
    {
        ArgumentNullException.ThrowIfNull(annotator);
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction();
        var open = FindAssignment(connection, transaction, annotator.Id, "s.annotator_id = $annotator AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.assignment_id = s.id)", null);
        if (open is not null) return open;

        using var pick = connection.CreateCommand();
        pick.Transaction = transaction;
        pick.CommandText = $"SELECT p.id FROM pairs p WHERE {OpenToAnnotator} ORDER BY {Holders}, p.id LIMIT 1;";
        pick.Parameters.AddWithValue("$annotator", annotator.Id);
        pick.Parameters.AddWithValue("$n", AnnotatorsPerPair);
        if (pick.ExecuteScalar() is not long pairId) return null;

        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO assignments (annotator_id, pair_id, a_on_left, shown_at) VALUES ($annotator, $pair, $left, $now) RETURNING id;";
        insert.Parameters.AddWithValue("$annotator", annotator.Id);
        insert.Parameters.AddWithValue("$pair", pairId);
        insert.Parameters.AddWithValue("$left", RandomNumberGenerator.GetInt32(2));
        insert.Parameters.AddWithValue("$now", Format(DateTimeOffset.UtcNow));
        var id = (long)insert.ExecuteScalar()!;
        var assignment = FindAssignment(connection, transaction, annotator.Id, "s.id = $id", id)!;
        transaction.Commit();
        return assignment;
    }

    /// <summary>Records the annotator's answer to one of their own assignments, in one transaction.</summary>
    public VoteOutcome RecordVote(Annotator annotator, long assignmentId, Answer answer)
    {
        ArgumentNullException.ThrowIfNull(annotator);
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction();
        var assignment = FindAssignment(connection, transaction, annotator.Id, "s.id = $id AND s.annotator_id = $annotator", assignmentId);
        if (assignment is null) return VoteOutcome.NotAssigned;

        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO votes (assignment_id, annotator_id, pair_id, a_on_left, answer, choice, voted_at)
            VALUES ($assignment, $annotator, $pair, $left, $answer, $choice, $now)
            ON CONFLICT (assignment_id) DO NOTHING;
            """;
        insert.Parameters.AddWithValue("$assignment", assignment.Id);
        insert.Parameters.AddWithValue("$annotator", annotator.Id);
        insert.Parameters.AddWithValue("$pair", assignment.PairId);
        insert.Parameters.AddWithValue("$left", assignment.AOnLeft ? 1 : 0);
        insert.Parameters.AddWithValue("$answer", AnswerName(answer));
        insert.Parameters.AddWithValue("$choice", Choice(answer, assignment.AOnLeft));
        insert.Parameters.AddWithValue("$now", Format(DateTimeOffset.UtcNow));
        var written = insert.ExecuteNonQuery();
        transaction.Commit();
        return written == 1 ? VoteOutcome.Recorded : VoteOutcome.AlreadyVoted;
    }

    /// <summary>The annotator's votes cast and pairs still open to them.</summary>
    public LabelProgress Progress(Annotator annotator)
    {
        ArgumentNullException.ThrowIfNull(annotator);
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT (SELECT COUNT(*) FROM votes WHERE annotator_id = $annotator),
                   (SELECT COUNT(*) FROM pairs p WHERE {OpenToAnnotator})
                 + (SELECT COUNT(*) FROM assignments s WHERE s.annotator_id = $annotator AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.assignment_id = s.id));
            """;
        command.Parameters.AddWithValue("$annotator", annotator.Id);
        command.Parameters.AddWithValue("$n", AnnotatorsPerPair);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new LabelProgress(reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>
    /// The stored file of an image, if the annotator has been shown a pair holding it (an annotator reads only the
    /// images of their own assignments).
    /// </summary>
    public string? ImageFileFor(Annotator annotator, long imageId)
    {
        ArgumentNullException.ThrowIfNull(annotator);
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT i.file FROM images i
            WHERE i.id = $image AND EXISTS (
                SELECT 1 FROM assignments s JOIN pairs p ON p.id = s.pair_id
                WHERE s.annotator_id = $annotator AND (p.image_a = i.id OR p.image_b = i.id));
            """;
        command.Parameters.AddWithValue("$image", imageId);
        command.Parameters.AddWithValue("$annotator", annotator.Id);
        return command.ExecuteScalar() as string;
    }

    /// <summary>Every pair with its votes counted, in id order.</summary>
    public IReadOnlyList<PairTally> Tallies()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT p.id, p.kind, p.prompt, p.seed, ia.file, ib.file, p.source_a, p.source_b, p.trajectory_a, p.trajectory_b,
                   COALESCE(SUM(v.choice = 'a'), 0), COALESCE(SUM(v.choice = 'b'), 0), COALESCE(SUM(v.choice = 'tie'), 0), COALESCE(SUM(v.choice = 'skip'), 0)
            FROM pairs p JOIN images ia ON ia.id = p.image_a JOIN images ib ON ib.id = p.image_b
            LEFT JOIN votes v ON v.pair_id = p.id
            GROUP BY p.id ORDER BY p.id;
            """;
        using var reader = command.ExecuteReader();
        var list = new List<PairTally>();
        while (reader.Read())
            list.Add(new PairTally(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5),
                reader.GetString(6), reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.GetInt32(10), reader.GetInt32(11), reader.GetInt32(12), reader.GetInt32(13)));
        return list;
    }

    /// <summary>Every vote, in commit order.</summary>
    public IReadOnlyList<StoredVote> Votes()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, annotator_id, pair_id, a_on_left, answer, choice, voted_at FROM votes ORDER BY id;";
        using var reader = command.ExecuteReader();
        var list = new List<StoredVote>();
        while (reader.Read())
            list.Add(new StoredVote(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3) == 1, reader.GetString(4),
                reader.GetString(5), DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture)));
        return list;
    }

    /// <summary>Parses an answer as posted (<c>left</c>, <c>right</c>, <c>tie</c>, <c>skip</c>).</summary>
    public static Answer? ParseAnswer(string? text) => text switch
    {
        "left" => Answer.Left,
        "right" => Answer.Right,
        "tie" => Answer.Tie,
        "skip" => Answer.Skip,
        _ => null,
    };

    // A pair is open to an annotator when they were never shown it and fewer than N others hold it
    // (shown and not skipped).
    private const string Holders = """
        (SELECT COUNT(*) FROM assignments h LEFT JOIN votes hv ON hv.assignment_id = h.id
         WHERE h.pair_id = p.id AND (hv.answer IS NULL OR hv.answer <> 'skip'))
        """;

    private const string OpenToAnnotator = $"""
        NOT EXISTS (SELECT 1 FROM assignments m WHERE m.pair_id = p.id AND m.annotator_id = $annotator)
        AND {Holders} < $n
        """;

    private static Assignment? FindAssignment(SqliteConnection connection, SqliteTransaction transaction, long annotatorId, string where, long? id)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT s.id, s.pair_id, p.prompt, p.image_a, p.image_b, s.a_on_left
            FROM assignments s JOIN pairs p ON p.id = s.pair_id
            WHERE {where} ORDER BY s.id LIMIT 1;
            """;
        command.Parameters.AddWithValue("$annotator", annotatorId);
        if (id is not null) command.Parameters.AddWithValue("$id", id.Value);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var aOnLeft = reader.GetInt64(5) == 1;
        long a = reader.GetInt64(3), b = reader.GetInt64(4);
        return new Assignment(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), aOnLeft ? a : b, aOnLeft ? b : a, aOnLeft);
    }

    private static long RandomImageId() => RandomNumberGenerator.GetInt32(1, int.MaxValue) * 1_000_000L + RandomNumberGenerator.GetInt32(1_000_000);

    private static Annotator ReadAnnotator(SqliteDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
        reader.IsDBNull(3) ? null : DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture));

    private static string AnswerName(Answer answer) => answer switch
    {
        Answer.Left => "left",
        Answer.Right => "right",
        Answer.Tie => "tie",
        Answer.Skip => "skip",
        _ => throw new ArgumentOutOfRangeException(nameof(answer), answer, "Unknown answer."),
    };

    // What the answer chose in the pair's own terms: the left image is A when A was put on the left.
    private static string Choice(Answer answer, bool aOnLeft) => answer switch
    {
        Answer.Left => aOnLeft ? "a" : "b",
        Answer.Right => aOnLeft ? "b" : "a",
        Answer.Tie => "tie",
        _ => "skip",
    };

    private static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
