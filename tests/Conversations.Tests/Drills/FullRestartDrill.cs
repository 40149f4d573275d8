using System.Net;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

/// <summary>
/// Every process of a cluster dies at once (SIGKILL: two silos and the API, as a power cut would) and a new set starts on
/// the same backend (Azurite, or PostgreSQL): the newcomers declare the dead silos dead, and every conversation is served
/// again with all its acknowledged turns, and takes new ones.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class FullRestartDrill(DrillBackends backends)
{
    private const string Key = "sk-restart-drill";

    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task State_survives_killing_every_process_of_the_cluster_and_starting_new_ones(Backend backend)
    {
        await using var cluster = ProcessCluster.On(await backends.For(backend), "restart-drill", Key);
        await Task.WhenAll(cluster.StartSiloAsync("silo1"), cluster.StartSiloAsync("silo2"));
        using var before = Http(await cluster.StartApiAsync());
        var conversations = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => HttpConversation.CreateAsync(before)));
        foreach (var conversation in conversations)
        {
            await conversation.TurnAsync($"first of {conversation.Id}");
            await conversation.TurnAsync($"second of {conversation.Id}");
        }

        var written = await Task.WhenAll(conversations.Select(c => c.ItemsAsync()));

        await cluster.KillAllAsync();
        await Task.WhenAll(cluster.StartSiloAsync("silo3"), cluster.StartSiloAsync("silo4"));
        using var after = Http(await cluster.StartApiAsync());
        var read = await Task.WhenAll(conversations.Select(c => Eventually.Get(() => ItemsOrNull(new HttpConversation(after, c.Id)))));

        Assert.All(written, items => Assert.Equal(4, items.Count));
        Assert.Equal(written, read);
        Assert.Equal(await cluster.ActiveSilos(), ["silo3", "silo4"]);
        var next = new HttpConversation(after, conversations[0].Id);
        await next.TurnAsync("after the restart");
        Assert.Equal([.. written[0], ("user", "after the restart")], (await next.ItemsAsync()).Take(5));
    }

    private static HttpClient Http(ServiceProcess api)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        return http;
    }

    /// <summary>The items, or null while the new cluster still answers 503 (it is declaring the dead silos dead).</summary>
    private static async Task<List<(string Role, string Text)>?> ItemsOrNull(HttpConversation conversation)
    {
        try
        {
            return await conversation.ItemsAsync();
        }
        catch (HttpRequestException exception) when (exception.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return null;
        }
    }
}
