using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Conversations.Silo.Storage;

/// <summary>
/// Durable grain state in one SQLite file, for the embedded default: survives restarts, needs no
/// setup, and keeps Orleans' optimistic concurrency (every write checks and bumps an ETag).
/// Orleans ships no local durable provider; see docs/decisions/0002-embedded-sqlite-grain-storage.md.
/// <para>
/// Writes go to one thread of their own, which commits every write waiting at the time in one
/// transaction (group commit): one fsync for them all, and no thread-pool thread ever waits on the disk.
/// A write is acknowledged only once its transaction is on disk; one whose ETag check fails changes
/// nothing and fails alone, and an error of the transaction itself fails every write in it.
/// </para>
/// </summary>
public sealed class SqliteGrainStorage : IGrainStorage, IDisposable
{
    /// <summary>The most writes one transaction takes, so a burst cannot hold its first writer for long.</summary>
    internal const int MaxWritesPerCommit = 256;

    private readonly string _connectionString;
    private readonly IGrainStorageSerializer _serializer;
    private readonly BlockingCollection<PendingWrite> _writes = new();
    private readonly Thread _writer;
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private int _disposed;

    public SqliteGrainStorage(string path, IGrainStorageSerializer serializer)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        _serializer = serializer;
        using (var connection = Open())
        {
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

        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "SQLite grain state writer" };
        _writer.Start();
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

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        // The state and its ETag as they are now (the write runs later, on the writer thread).
        // ETags are random, not counters: a row deleted and written again never repeats an ETag a stale activation holds.
        var payload = _serializer.Serialize(grainState.State).ToArray();
        var (etag, next) = (grainState.ETag, Guid.NewGuid().ToString("N"));
        return Enqueue(
            connection =>
            {
                using var command = etag is null
                    ? Command(connection, "INSERT INTO grain_state (grain_id, state_name, etag, payload) VALUES ($id, $name, $next, $payload) ON CONFLICT DO NOTHING", grainId, stateName)
                    : Command(connection, "UPDATE grain_state SET etag = $next, payload = $payload WHERE grain_id = $id AND state_name = $name AND etag = $etag", grainId, stateName);
                command.Parameters.AddWithValue("$payload", payload);
                command.Parameters.AddWithValue("$next", next);
                command.Parameters.AddWithValue("$etag", etag ?? string.Empty);
                return command.ExecuteNonQuery() == 1 ? null : Conflict(grainId, etag);
            },
            () =>
            {
                grainState.ETag = next;
                grainState.RecordExists = true;
            });
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var (etag, empty) = (grainState.ETag, Activator.CreateInstance<T>());
        return Enqueue(
            connection =>
            {
                if (etag is null)
                {
                    return null;
                }

                using var command = Command(connection, "DELETE FROM grain_state WHERE grain_id = $id AND state_name = $name AND etag = $etag", grainId, stateName);
                command.Parameters.AddWithValue("$etag", etag);
                return command.ExecuteNonQuery() == 1 ? null : Conflict(grainId, etag);
            },
            () =>
            {
                grainState.ETag = null;
                grainState.State = empty;
                grainState.RecordExists = false;
            });
    }

    /// <summary>Finishes the writes already queued, then stops the writer.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _writes.CompleteAdding();
        _open.Set();
        _writer.Join();
        _writes.Dispose();
        _open.Dispose();
    }

    /// <summary>For tests: the writer takes nothing until the result is disposed, so the writes queued meanwhile commit as one batch.</summary>
    internal IDisposable HoldWrites()
    {
        _open.Reset();
        return new Release(_open);
    }

    private Task Enqueue(Func<SqliteConnection, Exception?> write, Action committed)
    {
        var pending = new PendingWrite(write, committed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            _writes.Add(pending);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(SqliteGrainStorage), "The silo's grain storage is shutting down.");
        }

        return pending.Done.Task;
    }

    private void WriteLoop()
    {
        var batch = new List<PendingWrite>(MaxWritesPerCommit);
        foreach (var first in _writes.GetConsumingEnumerable())
        {
            _open.Wait();
            batch.Add(first);
            while (batch.Count < MaxWritesPerCommit && _writes.TryTake(out var more))
            {
                batch.Add(more);
            }

            Commit(batch);
            batch.Clear();
        }
    }

    /// <summary>
    /// One transaction for <paramref name="batch"/>; each write learns its outcome only after the commit. An error of any
    /// write fails them all: the errors SQLite raises here (disk full, I/O) are the file's, not one write's.
    /// </summary>
    private void Commit(List<PendingWrite> batch)
    {
        var outcomes = new Exception?[batch.Count];
        var committed = false;
        try
        {
            using var connection = Open(); // from the pool: one connection, opened again only after a failure closed it
            using var transaction = connection.BeginTransaction();
            for (var i = 0; i < batch.Count; i++)
            {
                outcomes[i] = batch[i].Write(connection); // a failed ETag check changed nothing: the others still commit
            }

            transaction.Commit();
            committed = true;
        }
        catch (Exception exception) when (!committed)
        {
            foreach (var write in batch)
            {
                write.Done.TrySetException(exception);
            }

            return;
        }
        catch (Exception)
        {
            // Closing the connection failed after the commit: the writes are on disk, and are reported so below.
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] is { } conflict)
            {
                batch[i].Done.TrySetException(conflict);
            }
            else
            {
                batch[i].Committed();
                batch[i].Done.TrySetResult();
            }
        }
    }

    private static InconsistentStateException Conflict(GrainId grainId, string? etag) =>
        new($"The stored state of {grainId} changed since it was read.", "unknown", etag ?? "none");

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

    /// <param name="Committed">Updates the caller's state object once the write is on disk; it only assigns fields, so it cannot fail.</param>
    private sealed record PendingWrite(Func<SqliteConnection, Exception?> Write, Action Committed, TaskCompletionSource Done);

    private sealed class Release(ManualResetEventSlim open) : IDisposable
    {
        public void Dispose() => open.Set();
    }
}
