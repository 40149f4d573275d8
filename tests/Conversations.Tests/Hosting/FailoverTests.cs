using System.Globalization;
using System.Net;
using Conversations.Api.Hosting;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Conversations.Tests.Hosting;

/// <summary>
/// Real processes on loopback: Azurite, two silos on Azure Table membership and the API as a separate
/// Orleans client. The silo hosting a conversation is killed by PID; the conversation continues on
/// the survivor with its history, and meanwhile the API answers only success or a retriable 503.
/// </summary>
public sealed class FailoverTests
{
    private const string Key = "sk-failover-test";
    private const int MaxAttempts = 60;

    [Fact]
    public async Task Killing_the_silo_that_hosts_a_conversation_moves_it_to_the_survivor_with_its_history()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var cluster = new ClusterSettings
        {
            Clustering = ClusteringMode.AzureTable,
            Storage = GrainStorageMode.AzureBlob,
            AzureStorageConnectionString = azurite.ConnectionString,
            ServiceId = "failover-" + Guid.NewGuid().ToString("N")[..8],
            ClusterId = "failover",
        };
        var siloAssembly = Repository.ProjectOutput("silo/Conversations.Silo", "Conversations.Silo");
        var apiAssembly = Repository.ProjectOutput("api/Conversations.ApiHost", "Conversations.ApiHost");
        var siloPorts = new[] { FreePorts.Next(), FreePorts.Next() };
        await using var silo1 = await ServiceProcess.StartAsync(siloAssembly, SiloEnvironment(cluster, siloPorts[0]));
        await using var silo2 = await ServiceProcess.StartAsync(siloAssembly, SiloEnvironment(cluster, siloPorts[1]));
        await using var api = await ServiceProcess.StartAsync(apiAssembly, Common(cluster));
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);

        var conversation = await HttpConversation.CreateAsync(http);
        await conversation.TurnAsync("My name is Ada.");
        var before = await conversation.ItemsAsync();
        var hostPort = await HostingSiloPort(cluster, conversation.Id);
        var victim = hostPort == siloPorts[0] ? silo1 : silo2;
        Assert.Contains(hostPort, siloPorts);

        await victim.KillAsync();
        var killedAt = System.Diagnostics.Stopwatch.StartNew();

        var failures = new List<HttpStatusCode>();
        string? reply = null;
        for (var attempt = 0; attempt < MaxAttempts && reply is null; attempt++)
        {
            using var response = await conversation.TryTurnAsync("What is my name?");
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                reply = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString();
                break;
            }

            // During the failover window the only acceptable failure is a clean, retriable one.
            failures.Add(response.StatusCode);
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
            Assert.NotNull(response.Headers.RetryAfter?.Delta);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
            await Task.Delay(response.Headers.RetryAfter.Delta.Value, TestContext.Current.CancellationToken); // the client honours retry-after
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Failover: served again {killedAt.Elapsed.TotalSeconds:F1} s after the kill, after {failures.Count} retriable 503s.");
        Assert.True(reply is not null, $"No turn succeeded after {failures.Count} retriable failures. API log: {api.Output}");
        Assert.Contains("turn 2, 3 messages", reply, StringComparison.Ordinal);
        var after = await conversation.ItemsAsync();
        Assert.Equal(before, after.Take(2));
        Assert.Equal(4, after.Count);
        Assert.Equal(siloPorts.Single(p => p != hostPort), await HostingSiloPort(cluster, conversation.Id));
    }

    /// <summary>Asks the cluster's management grain which silo holds the conversation's activation.</summary>
    private static async Task<int> HostingSiloPort(ClusterSettings cluster, string conversationId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(cluster.ConfigureClient);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IClusterClient>();
            var conversation = grains.GetGrain<IConversationGrain>(GrainKeys.For("default", conversationId));
            var address = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(conversation);
            return address?.Endpoint.Port ?? throw new InvalidOperationException("The conversation has no activation.");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static Dictionary<string, string> SiloEnvironment(ClusterSettings cluster, int siloPort)
    {
        var environment = Common(cluster);
        environment["Conversations__Api__Enabled"] = "false";
        environment["Conversations__Cluster__Storage"] = "AzureBlob";
        environment["Conversations__Cluster__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        environment["Conversations__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture);
        // Detect a dead silo within seconds (see docs/operations.md).
        environment["Conversations__Cluster__Membership__ProbeTimeout"] = "00:00:01";
        environment["Conversations__Cluster__Membership__NumMissedProbesLimit"] = "2";
        return environment;
    }

    private static Dictionary<string, string> Common(ClusterSettings cluster) => new()
    {
        ["CONVERSATIONS_API_KEY"] = Key,
        ["Conversations__Cluster__Clustering"] = "AzureTable",
        ["Conversations__Cluster__AzureStorageConnectionString"] = cluster.AzureStorageConnectionString!,
        ["Conversations__Cluster__ServiceId"] = cluster.ServiceId,
        ["Conversations__Cluster__ClusterId"] = cluster.ClusterId,
        ["Conversations__Cluster__ResponseTimeout"] = "00:00:10",
    };
}
