using System.Diagnostics;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using Conversations.Webhooks;

namespace Conversations.Tests.Drills;

/// <summary>
/// Issue 26, webhooks delivered at least once, across a silo crash, with real processes: a backend server, two silos and an
/// API process, and a loopback receiver (real Kestrel) that verifies every signature with the StandardWebhooks library.
/// Three background responses finish while the receiver answers 500, so their events wait in the endpoint's delivery queue,
/// retried; the silo that holds the endpoint's delivery grain is then killed by PID (SIGKILL) and the receiver recovers. The
/// queue, written before each event was accepted, and its reminder bring the grain up on the survivor: every event is accepted
/// by the receiver exactly once, in the order the responses finished, under one <c>webhook-id</c> per event across attempts.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class WebhookDeliveryCrashDrill(DrillBackends backends)
{
    private const string AdminKey = "sk-webhook-drill";
    private const int Events = 3;

    /// <summary>Loopback over http, allowed here only; retries every second at most, so the queue is retrying when the kill lands.</summary>
    private static readonly Dictionary<string, string> LoopbackWebhooks = new()
    {
        ["Conversations__Webhooks__AllowedNetworks__0"] = "127.0.0.0/8",
        ["Conversations__Webhooks__AllowInsecureHttp"] = "true",
        ["Conversations__Webhooks__FirstRetryDelay"] = "00:00:00.200",
        ["Conversations__Webhooks__MaxRetryDelay"] = "00:00:01",
    };

    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task Webhook_events_retrying_on_a_killed_silo_reach_the_receiver_once_each_in_order_from_the_other_silo(Backend backend)
    {
        var log = TestContext.Current.TestOutputHelper;
        var total = Stopwatch.StartNew();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = ProcessCluster.On(await backends.For(backend), "webhook-drill", AdminKey);
        var silos = await Task.WhenAll(cluster.StartSiloAsync("silo1", settings: LoopbackWebhooks), cluster.StartSiloAsync("silo2", settings: LoopbackWebhooks));
        var api = await cluster.StartApiAsync();
        using var http = cluster.Http(api);
        var grains = await cluster.Grains();

        receiver.FailNext(int.MaxValue);
        var created = await http.PostJson("/v1/admin/tenants/default/webhooks", $$"""{"url":"{{receiver.Url}}","events":["response.completed"]}""");
        receiver.Secret = created.GetProperty("secret").GetString();
        var endpoint = created.GetProperty("id").GetString()!;
        var responses = new List<string>();
        for (var i = 0; i < Events; i++)
        {
            // One after another, so the events are queued in this order.
            var id = (await http.PostJson("/v1/responses", $$"""{"model":"sim-small","input":"Event {{i}}","background":true}""")).GetProperty("id").GetString()!;
            await Eventually.Get(async () => (await http.GetJson($"/v1/responses/{id}")).GetProperty("status").GetString() == "completed" ? "done" : null);
            responses.Add(id);
        }

        await Eventually.Get(async () => Pending(await http.GetJson($"/v1/admin/tenants/default/webhooks/{endpoint}/deliveries")) == Events ? "queued" : null);
        var refused = new List<WebhookReceiver.Delivery> { await receiver.Next() }; // the head is being retried
        var grain = grains.GetGrain<IWebhookDeliveryGrain>(GrainKeys.For("default", endpoint)).GetGrainId();
        var host = Assert.Single((await cluster.Activations([grain]))[grain]);
        var victim = silos.Single(silo => silo.Name == host);
        await victim.Process.KillAsync();
        var (killedAt, sinceKill) = (total.Elapsed, Stopwatch.StartNew());
        await cluster.WaitUntilServingWithout(victim, [api], TimeSpan.FromSeconds(45));
        receiver.FailNext(0); // an attempt the victim sent before it died has been answered (500) by now: only the survivor delivers from here

        // The delivery grain's reminder ticks once a minute; the survivor's activation then empties the queue.
        var accepted = new List<WebhookReceiver.Delivery>();
        while (accepted.Count < Events)
        {
            var delivery = await receiver.Next(TimeSpan.FromMinutes(3));
            (delivery.AnsweredStatus == 200 ? accepted : refused).Add(delivery);
        }

        var deliveries = await Eventually.Get(async () =>
            await http.GetJson($"/v1/admin/tenants/default/webhooks/{endpoint}/deliveries") is var listed && Pending(listed) == 0 ? listed : (JsonElement?)null);
        var after = (await cluster.Activations([grain]))[grain];
        log?.WriteLine($"Endpoint {endpoint}'s deliveries were retrying on {victim.Name} ({refused.Count} refused attempts), killed {killedAt.TotalSeconds:F1} s into "
            + $"the drill; all {Events} accepted {sinceKill.Elapsed.TotalSeconds:F1} s after the kill, on {string.Join("+", after)}.");

        Assert.Equal(responses, accepted.Select(d => d.ResponseId)); // in the order the responses finished, each once
        Assert.All(accepted.Concat(refused), d => Assert.Null(d.VerificationError));
        Assert.Equal(Events, accepted.Select(d => d.WebhookId).Distinct().Count());
        Assert.All(refused, d => Assert.Contains(d.WebhookId, accepted.Select(a => a.WebhookId))); // a retry keeps its event's id
        Assert.All(deliveries.GetProperty("data").EnumerateArray(), d => Assert.Equal("delivered", d.GetProperty("status").GetString()));
        Assert.DoesNotContain(victim.Name, after);
        Assert.False(receiver.TryNext(out var extra), $"a delivery after every event was accepted: {extra?.ResponseId}");
    }

    private static int Pending(JsonElement deliveries) =>
        deliveries.GetProperty("data").EnumerateArray().Count(d => d.GetProperty("status").GetString() == "pending");
}
