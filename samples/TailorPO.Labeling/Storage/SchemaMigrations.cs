namespace TailorPO.Labeling.Storage;

/// <summary>
/// The database schema as an ordered list of migrations. Migration k (1-based) takes a database from
/// version k - 1 to k; the version lives in SQLite's <c>user_version</c>. Migrations are only ever appended:
/// a released migration is never edited, so every database reaches the same schema.
/// </summary>
internal static class SchemaMigrations
{
    /// <summary>The schema version this build writes.</summary>
    public static int CurrentVersion => All.Count;

    /// <summary>Migration k at index k - 1.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        // 1: annotators, the generated pairs, what each annotator was shown, and the append-only votes.
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE annotators (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT);
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            file TEXT NOT NULL UNIQUE);
        CREATE TABLE pairs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('trajectory', 'model')),
            prompt TEXT NOT NULL,
            seed INTEGER NOT NULL,
            image_a INTEGER NOT NULL REFERENCES images (id),
            image_b INTEGER NOT NULL REFERENCES images (id),
            source_a TEXT NOT NULL,
            source_b TEXT NOT NULL,
            trajectory_a TEXT,
            trajectory_b TEXT,
            created_at TEXT NOT NULL);
        CREATE TABLE assignments (
            id INTEGER PRIMARY KEY,
            annotator_id INTEGER NOT NULL REFERENCES annotators (id),
            pair_id INTEGER NOT NULL REFERENCES pairs (id),
            a_on_left INTEGER NOT NULL CHECK (a_on_left IN (0, 1)),
            shown_at TEXT NOT NULL,
            UNIQUE (annotator_id, pair_id));
        CREATE TABLE votes (
            id INTEGER PRIMARY KEY,
            assignment_id INTEGER NOT NULL UNIQUE REFERENCES assignments (id),
            annotator_id INTEGER NOT NULL REFERENCES annotators (id),
            pair_id INTEGER NOT NULL REFERENCES pairs (id),
            a_on_left INTEGER NOT NULL CHECK (a_on_left IN (0, 1)),
            answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'tie', 'skip')),
            choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'skip')),
            voted_at TEXT NOT NULL);
        CREATE INDEX votes_by_pair ON votes (pair_id);
        CREATE INDEX assignments_by_pair ON assignments (pair_id);
        CREATE TRIGGER votes_are_append_only_update BEFORE UPDATE ON votes
            BEGIN SELECT RAISE(ABORT, 'votes are append-only'); END;
        CREATE TRIGGER votes_are_append_only_delete BEFORE DELETE ON votes
            BEGIN SELECT RAISE(ABORT, 'votes are append-only'); END;
        """,
    ];
}
