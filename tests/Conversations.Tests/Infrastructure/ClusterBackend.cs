using Conversations.Hosting;

namespace Conversations.Tests.Infrastructure;

/// <summary>The production backends the drills run on: membership, grain state and reminders in Azure Storage or PostgreSQL.</summary>
public enum Backend
{
    /// <summary>Azure Table membership and reminders, Azure Blob grain state, in a real Azurite.</summary>
    AzureStorage,

    /// <summary>Membership, reminders and grain state in a real PostgreSQL through Orleans' ADO.NET providers.</summary>
    PostgreSql,
}

/// <summary>
/// A running backend server a drill uses: the cluster settings that point silos and API hosts at it (each drill a
/// cluster of its own, by its own ServiceId and ClusterId, so one server can hold several drills' clusters), the
/// in-process settings that put only grain state in it, and an outage (stop, start again keeping its data).
/// </summary>
public abstract class ClusterBackend : IAsyncDisposable
{
    public abstract Backend Kind { get; }

    /// <summary>Starts a server of <paramref name="kind"/> that the caller owns (skips the test where PostgreSQL cannot run).</summary>
    public static async Task<ClusterBackend> StartAsync(Backend kind) => kind switch
    {
        Backend.AzureStorage => new AzuriteBackend(await AzuriteProcess.StartAsync()),
        _ => new PostgreSqlBackend(await PostgreSqlServer.StartOrSkipAsync(), owned: true),
    };

    /// <summary>A cluster of its own on this server: clustering, grain state and reminders here.</summary>
    public ClusterSettings Cluster(string name)
    {
        var unique = name + "-" + Guid.NewGuid().ToString("N")[..8];
        return new ClusterSettings
        {
            Clustering = Kind == Backend.AzureStorage ? ClusteringMode.AzureTable : ClusteringMode.PostgreSql,
            Storage = Kind == Backend.AzureStorage ? GrainStorageMode.AzureBlob : GrainStorageMode.PostgreSql,
            AzureStorageConnectionString = Kind == Backend.AzureStorage ? ConnectionString : null,
            PostgreSqlConnectionString = Kind == Backend.PostgreSql ? ConnectionString : null,
            ServiceId = unique,
            ClusterId = unique,
            ResponseTimeout = TimeSpan.FromSeconds(10),
        };
    }

    /// <summary>For an in-process <see cref="GatewayFactory"/>: grain state on this server (the one silo clusters by itself).</summary>
    public Dictionary<string, string?> GrainStorage() => Kind == Backend.AzureStorage
        ? new() { ["Conversations:Cluster:Storage"] = "AzureBlob", ["Conversations:Cluster:AzureStorageConnectionString"] = ConnectionString }
        : new() { ["Conversations:Cluster:Storage"] = "PostgreSql", ["Conversations:Cluster:PostgreSqlConnectionString"] = ConnectionString };

    /// <summary>Stops the server the way an operator would, keeping its data: a storage outage.</summary>
    public abstract Task StopAsync();

    /// <summary>Starts the stopped server again with its data.</summary>
    public abstract Task StartAgainAsync();

    public abstract ValueTask DisposeAsync();

    protected abstract string ConnectionString { get; }

    private sealed class AzuriteBackend(AzuriteProcess azurite) : ClusterBackend
    {
        public override Backend Kind => Backend.AzureStorage;

        protected override string ConnectionString => azurite.ConnectionString;

        public override Task StopAsync() => azurite.StopAsync();

        public override Task StartAgainAsync() => azurite.StartAgainAsync();

        public override ValueTask DisposeAsync() => azurite.DisposeAsync();
    }

    /// <summary>A PostgreSQL server, owned (stopped when disposed) or borrowed from <see cref="DrillBackends"/>.</summary>
    internal sealed class PostgreSqlBackend(PostgreSqlServer server, bool owned) : ClusterBackend
    {
        public override Backend Kind => Backend.PostgreSql;

        protected override string ConnectionString => server.ConnectionString;

        public override Task StopAsync() => owned ? server.StopAsync() : throw new InvalidOperationException("A shared server is not stopped by one test.");

        public override Task StartAgainAsync() => server.StartAgainAsync();

        public override ValueTask DisposeAsync() => owned ? server.DisposeAsync() : ValueTask.CompletedTask;
    }
}

/// <summary>
/// One PostgreSQL server for a whole test collection (the kill drills), started when a test first asks for it and
/// stopped after the collection: each drill's cluster lives in it under its own ServiceId and ClusterId. A server takes
/// about two seconds to make and start; the drills it serves take a minute each.
/// </summary>
public sealed class DrillBackends : IAsyncDisposable
{
    private readonly Lazy<Task<PostgreSqlServer>> _server = new(PostgreSqlServer.StartOrSkipAsync);

    /// <summary>A backend of <paramref name="kind"/> for one drill: its own Azurite, or the collection's PostgreSQL.</summary>
    public async Task<ClusterBackend> For(Backend kind) => kind == Backend.PostgreSql
        ? new ClusterBackend.PostgreSqlBackend(await _server.Value, owned: false)
        : await ClusterBackend.StartAsync(kind);

    public async ValueTask DisposeAsync()
    {
        if (_server.IsValueCreated && _server.Value.IsCompletedSuccessfully)
        {
            await (await _server.Value).DisposeAsync();
        }
    }
}
