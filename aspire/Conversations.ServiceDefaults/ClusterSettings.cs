using Azure.Data.Tables;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Conversations.Hosting;

/// <summary>
/// How processes find the cluster and where grain state lives, bound from <c>Conversations:Cluster</c>.
/// The defaults are the embedded mode: one process, localhost clustering, durable local storage.
/// </summary>
public sealed class ClusterSettings
{
    public const string Section = "Conversations:Cluster";

    public ClusteringMode Clustering { get; init; } = ClusteringMode.Localhost;

    public GrainStorageMode Storage { get; init; } = GrainStorageMode.Local;

    /// <summary>Azure Storage connection string, for Azure Table clustering and Azure Blob grain state.</summary>
    public string? AzureStorageConnectionString { get; init; }

    /// <summary>PostgreSQL connection string (Npgsql), for PostgreSQL clustering, grain state and reminders; the schema is deploy/postgresql.</summary>
    public string? PostgreSqlConnectionString { get; init; }

    /// <summary>The SQLite file of the embedded default's grain state.</summary>
    public string LocalStoragePath { get; init; } = ".data/conversations.db";

    public string ServiceId { get; init; } = "conversations";

    public string ClusterId { get; init; } = "local";

    public int SiloPort { get; init; } = EndpointOptions.DEFAULT_SILO_PORT;

    public int GatewayPort { get; init; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    /// <summary>
    /// How long a grain call may wait for its answer. Streamed model calls send heartbeats at half this
    /// interval, so it bounds waits on a lost silo, not the length of a model call.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long, after a silo is declared dead, the grains it held stay unavailable before they may start on another
    /// silo: the guard against a silo declared dead while it still runs (a long pause, a partition), which would
    /// otherwise serve a second activation. Orleans' own lease counts from the estimated failure and so grows with the
    /// membership's probe timeouts; this one counts from the declaration. See docs/decisions/0043-a-dead-silos-grains-wait-one-second.md.
    /// </summary>
    public TimeSpan DeadSiloLease { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The address a silo advertises to others; loopback unless set (multi-host clusters set it).</summary>
    public string? AdvertisedAddress { get; init; }

    public string RequireAzureConnectionString() =>
        AzureStorageConnectionString is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Section}:AzureStorageConnectionString is required for Azure clustering or storage.");

    public string RequirePostgreSqlConnectionString() =>
        PostgreSqlConnectionString is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Section}:PostgreSqlConnectionString is required for PostgreSQL clustering or storage.");

    /// <summary>The ADO.NET provider name Orleans loads Npgsql by.</summary>
    public const string PostgreSqlInvariant = "Npgsql";

    /// <summary>Connects an Orleans client (the API in its own process) to the cluster.</summary>
    public void ConfigureClient(IClientBuilder client)
    {
        client.Configure<ClusterOptions>(options =>
        {
            options.ServiceId = ServiceId;
            options.ClusterId = ClusterId;
        });
        client.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = ResponseTimeout);
        if (Clustering == ClusteringMode.AzureTable)
        {
            client.UseAzureStorageClustering(options => options.TableServiceClient = new TableServiceClient(RequireAzureConnectionString()));
        }
        else if (Clustering == ClusteringMode.PostgreSql)
        {
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = PostgreSqlInvariant;
                options.ConnectionString = RequirePostgreSqlConnectionString();
            });
        }
        else
        {
            client.UseLocalhostClustering(GatewayPort, ServiceId, ClusterId);
        }
    }
}

public enum ClusteringMode
{
    /// <summary>A single silo on this machine (the embedded default).</summary>
    Localhost,

    /// <summary>Membership in an Azure Storage table: many silos, many machines.</summary>
    AzureTable,

    /// <summary>Membership (and reminders) in PostgreSQL through Orleans' ADO.NET provider: many silos, many machines.</summary>
    PostgreSql,
}

public enum GrainStorageMode
{
    /// <summary>A SQLite file beside the process: durable, no setup.</summary>
    Local,

    /// <summary>Azure Blob Storage, one blob per grain.</summary>
    AzureBlob,

    /// <summary>PostgreSQL through Orleans' ADO.NET provider, one row per grain.</summary>
    PostgreSql,

    /// <summary>In memory only: lost on restart. For tests and throwaway demos.</summary>
    Memory,
}
