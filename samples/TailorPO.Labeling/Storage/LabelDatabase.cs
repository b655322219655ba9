using Microsoft.Data.Sqlite;

namespace TailorPO.Labeling.Storage;

/// <summary>
/// Opens the labelling database: WAL journal (readers never block the writer), full synchronous commits (a vote
/// acknowledged to the browser survives a crash), foreign keys on, and the schema migrated to
/// <see cref="SchemaMigrations.CurrentVersion"/> in one transaction. A database written by a newer build is refused.
/// </summary>
internal sealed class LabelDatabase
{
    private readonly string _connectionString;

    private LabelDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Writers queue on SQLite's busy handler instead of failing at once.
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if missing) and migrates the database at <paramref name="path"/>.</summary>
    /// <exception cref="LabelingException">The folder cannot be written, the file is not a database, or its schema is newer than this build's.</exception>
    public static LabelDatabase Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabelingException($"Cannot create the folder '{folder}' for the labelling database: {e.Message}. Choose a writable --data folder.", e);
        }

        var database = new LabelDatabase(full);
        try
        {
            using var connection = database.Connect();
            using (var wal = connection.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode = WAL;";
                var mode = (string?)wal.ExecuteScalar();
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                    throw new LabelingException($"The labelling database '{full}' could not switch to WAL mode (got '{mode}'); put it on a local file system.");
            }
            Migrate(connection, full);
        }
        catch (SqliteException e)
        {
            throw new LabelingException($"The labelling database '{full}' cannot be opened or migrated: {e.Message}. Check the file is a TailorPO labelling database and its folder is writable.", e);
        }
        return database;
    }

    /// <summary>An open connection with the per-connection settings applied (the caller disposes it).</summary>
    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
        pragmas.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Reads the schema version of the open database.</summary>
    public static int SchemaVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Migrate(SqliteConnection connection, string path)
    {
        using var transaction = connection.BeginTransaction();
        var version = SchemaVersion(connection);
        if (version > SchemaMigrations.CurrentVersion)
            throw new LabelingException(
                $"The labelling database '{path}' has schema version {version}, newer than this build's {SchemaMigrations.CurrentVersion}. " +
                "Open it with the newer TailorPO.Labeling that wrote it, or start a new database with another --data folder.");
        for (var next = version + 1; next <= SchemaMigrations.CurrentVersion; next++)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = SchemaMigrations.All[next - 1] + $"\nPRAGMA user_version = {next};";
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
