using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Conversations.Silo.Storage;

/// <summary>
/// Durable grain state in one SQLite file, for the embedded default: survives restarts, needs no
/// setup, and keeps Orleans' optimistic concurrency (every write checks and bumps an ETag).
/// Orleans ships no local durable provider; see docs/decisions/0002-embedded-sqlite-grain-storage.md.
/// </summary>
public sealed class SqliteGrainStorage : IGrainStorage, IDisposable
{
    private readonly string _connectionString;
    private readonly IGrainStorageSerializer _serializer;
    private readonly SemaphoreSlim _writer = new(1, 1);

    public SqliteGrainStorage(string path, IGrainStorageSerializer serializer)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        _serializer = serializer;
        using var connection = Open();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS grain_state (
                grain_id   TEXT NOT NULL,
                state_name TEXT NOT NULL,
                etag       TEXT NOT NULL,
                payload    BLOB NOT NULL,
                PRIMARY KEY (grain_id, state_name)
            ) WITHOUT ROWID;
            """);
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.Run(() =>
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT etag, payload FROM grain_state WHERE grain_id = $id AND state_name = $name", grainId, stateName);
        using var reader = command.ExecuteReader();
        if (reader.Read())
        {
            grainState.ETag = reader.GetString(0);
            grainState.State = _serializer.Deserialize<T>(new BinaryData((byte[])reader.GetValue(1)));
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.State = Activator.CreateInstance<T>();
            grainState.RecordExists = false;
        }
    });

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Exclusive(() =>
    {
        // ETags are random, not counters: a row deleted and written again never repeats an ETag a stale activation holds.
        var payload = _serializer.Serialize(grainState.State).ToArray();
        var next = Guid.NewGuid().ToString("N");
        using var connection = Open();
        using var command = grainState.ETag is null
            ? Command(connection, "INSERT INTO grain_state (grain_id, state_name, etag, payload) VALUES ($id, $name, $next, $payload) ON CONFLICT DO NOTHING", grainId, stateName)
            : Command(connection, "UPDATE grain_state SET etag = $next, payload = $payload WHERE grain_id = $id AND state_name = $name AND etag = $etag", grainId, stateName);
        command.Parameters.AddWithValue("$payload", payload);
        command.Parameters.AddWithValue("$next", next);
        command.Parameters.AddWithValue("$etag", grainState.ETag ?? string.Empty);
        if (command.ExecuteNonQuery() != 1)
        {
            throw new InconsistentStateException($"The stored state of {grainId} changed since it was read.", "unknown", grainState.ETag ?? "none");
        }

        grainState.ETag = next;
        grainState.RecordExists = true;
    });

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Exclusive(() =>
    {
        using var connection = Open();
        using var command = Command(connection, "DELETE FROM grain_state WHERE grain_id = $id AND state_name = $name AND etag = $etag", grainId, stateName);
        command.Parameters.AddWithValue("$etag", grainState.ETag ?? string.Empty);
        if (grainState.ETag is not null && command.ExecuteNonQuery() != 1)
        {
            throw new InconsistentStateException($"The stored state of {grainId} changed since it was read.", "unknown", grainState.ETag);
        }

        grainState.ETag = null;
        grainState.State = Activator.CreateInstance<T>();
        grainState.RecordExists = false;
    });

    public void Dispose() => _writer.Dispose();

    /// <summary>SQLite allows one writer at a time; queueing writes here avoids busy retries.</summary>
    private async Task Exclusive(Action write)
    {
        await _writer.WaitAsync();
        try
        {
            await Task.Run(write);
        }
        finally
        {
            _writer.Release();
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous = FULL;"); // per connection (journal_mode is the file's): every commit is on disk before it returns
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, GrainId grainId, string stateName)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", grainId.ToString());
        command.Parameters.AddWithValue("$name", stateName);
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
