using System.Globalization;
using Conversations.Hosting;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// The environment of real silo and API processes on a production backend (<see cref="ClusterBackend"/>: Azure Table
/// membership and Azure Blob state, or PostgreSQL for both), as drills start them.
/// </summary>
public static class ClusterEnvironment
{
    /// <summary>An API host's (an Orleans client's): the cluster, its first key, a response timeout that bounds waits on a lost silo.</summary>
    public static Dictionary<string, string> Api(ClusterSettings cluster, string apiKey)
    {
        var environment = new Dictionary<string, string>
        {
            ["CONVERSATIONS_API_KEY"] = apiKey,
            ["Conversations__Cluster__Clustering"] = cluster.Clustering.ToString(),
            ["Conversations__Cluster__ServiceId"] = cluster.ServiceId,
            ["Conversations__Cluster__ClusterId"] = cluster.ClusterId,
            ["Conversations__Cluster__ResponseTimeout"] = "00:00:10",
        };
        if (cluster.AzureStorageConnectionString is { } azure)
        {
            environment["Conversations__Cluster__AzureStorageConnectionString"] = azure;
        }

        if (cluster.PostgreSqlConnectionString is { } postgres)
        {
            environment["Conversations__Cluster__PostgreSqlConnectionString"] = postgres;
        }

        return environment;
    }

    /// <summary>A silo's (no HTTP API), on <paramref name="siloPort"/>, detecting a dead silo within seconds (docs/operations.md).</summary>
    public static Dictionary<string, string> Silo(ClusterSettings cluster, string apiKey, int siloPort)
    {
        var environment = Api(cluster, apiKey);
        environment["Conversations__Api__Enabled"] = "false";
        environment["Conversations__Cluster__Storage"] = cluster.Storage.ToString();
        environment["Conversations__Cluster__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        environment["Conversations__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture);
        environment["Conversations__Cluster__Membership__ProbeTimeout"] = "00:00:01";
        environment["Conversations__Cluster__Membership__NumMissedProbesLimit"] = "2";
        environment["Conversations__Cluster__Membership__IAmAliveTablePublishTimeout"] = "00:00:15";
        return environment;
    }
}
