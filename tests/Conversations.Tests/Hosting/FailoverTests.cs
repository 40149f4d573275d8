using System.Globalization;
using System.Net;
using Conversations.Api.Hosting;
using Conversations.Hosting;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Conversations.Tests.Hosting;

/// <summary>
/// Real processes on loopback: a backend server (Azurite, or PostgreSQL), two silos with membership and state in it and
/// the API as a separate Orleans client. While clients hold conversations and send turns, the silo hosting one of them is
/// killed by PID (SIGKILL): conversations continue on the survivor with their history, no acknowledged turn is lost or
/// doubled, and meanwhile the API answers only success or a retriable 503.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class FailoverTests(DrillBackends backends)
{
    private const string Key = "sk-failover-test";
    private const int MaxAttempts = 60;
    private const int Clients = 6;
    private const int TurnsPerClient = 6;

    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task Killing_a_silo_under_load_loses_no_acknowledged_turn_and_answers_only_retriable_errors(Backend backend)
    {
        await using var server = await backends.For(backend);
        var cluster = server.Cluster("failover");
        var siloAssembly = Repository.ProjectOutput("silo/Conversations.Silo", "Conversations.Silo");
        var apiAssembly = Repository.ProjectOutput("api/Conversations.ApiHost", "Conversations.ApiHost");
        var siloPorts = new[] { FreePorts.Next(), FreePorts.Next() };
        await using var silo1 = await ServiceProcess.StartAsync(siloAssembly, ClusterEnvironment.Silo(cluster, Key, siloPorts[0]));
        await using var silo2 = await ServiceProcess.StartAsync(siloAssembly, ClusterEnvironment.Silo(cluster, Key, siloPorts[1]));
        await using var api = await ServiceProcess.StartAsync(apiAssembly, ClusterEnvironment.Api(cluster, Key));
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);

        var conversations = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => HttpConversation.CreateAsync(http)));
        await conversations[0].TurnAsync("warm up");
        var hostPort = await HostingSiloPort(cluster, conversations[0].Id);
        var victim = hostPort == siloPorts[0] ? silo1 : silo2;
        Assert.Contains(hostPort, siloPorts);

        // Clients hold their conversations and keep sending turns; each retries a refused turn with the
        // same Idempotency-Key, honouring retry-after, until it is acknowledged.
        var failures = new System.Collections.Concurrent.ConcurrentBag<(HttpStatusCode Status, string Body, bool RetryAfter)>();
        var halfway = new CountdownEvent(Clients);
        var killed = new TaskCompletionSource();
        var killedAt = System.Diagnostics.Stopwatch.StartNew();
        var servedAgainAfter = new System.Collections.Concurrent.ConcurrentBag<TimeSpan>();
        var clients = conversations.Select((conversation, index) => Task.Run(async () =>
        {
            for (var turn = 0; turn < TurnsPerClient; turn++)
            {
                if (turn == TurnsPerClient / 2)
                {
                    halfway.Signal();
                    await killed.Task;
                }

                var refusedSinceKill = false;
                for (var attempt = 0; ; attempt++)
                {
                    Assert.True(attempt < MaxAttempts, $"Turn {turn} of client {index} was never acknowledged.");
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
                    {
                        Content = Api.ChatCompletionsTests.Json($$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"turn {{turn}}"}"""),
                    };
                    request.Headers.Add("Idempotency-Key", $"{conversation.Id}-{turn}");
                    using var response = await http.SendAsync(request);
                    if (response.IsSuccessStatusCode)
                    {
                        if (refusedSinceKill)
                        {
                            servedAgainAfter.Add(killedAt.Elapsed);
                        }

                        break;
                    }

                    failures.Add((response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.RetryAfter?.Delta is not null));
                    refusedSinceKill = true;
                    await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                }
            }
        })).ToList();

        halfway.Wait(TestContext.Current.CancellationToken);
        await victim.KillAsync();
        killedAt.Restart();
        killed.SetResult();
        await Task.WhenAll(clients);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Failover drill: {failures.Count} refused requests, all retriable: {failures.All(f => f.Status == HttpStatusCode.ServiceUnavailable && f.RetryAfter)}; "
            + $"served again within {(servedAgainAfter.IsEmpty ? TimeSpan.Zero : servedAgainAfter.Max()).TotalSeconds:F1} s of the kill.");
        Assert.All(failures, failure =>
        {
            Assert.True(failure.Status == HttpStatusCode.ServiceUnavailable, $"{(int)failure.Status}: {failure.Body}\nWhat the API host logged:\n{api.Output}");
            Assert.True(failure.RetryAfter);
            Assert.DoesNotContain("   at ", failure.Body, StringComparison.Ordinal);
        });

        // Every acknowledged turn is there exactly once, in order, on the surviving silo.
        foreach (var (conversation, index) in conversations.Select((c, i) => (c, i)))
        {
            var items = await conversation.ItemsAsync();
            var inputs = items.Where(i => i.Role == "user").Select(i => i.Text).Where(t => t.StartsWith("turn ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, TurnsPerClient).Select(t => $"turn {t}"), inputs);
            Assert.Equal(items.Count, 2 * items.Count(i => i.Role == "user"));
        }

        Assert.Equal(siloPorts.Single(p => p != hostPort), await HostingSiloPort(cluster, conversations[0].Id));
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
}
