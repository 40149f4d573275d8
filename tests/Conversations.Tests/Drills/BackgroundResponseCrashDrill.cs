using System.Diagnostics;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

/// <summary>
/// Issue 26, "background responses that survive a silo crash", with real processes: a backend server, two silos (Azure
/// Table membership and reminders with Azure Blob state in Azurite, or all three in PostgreSQL) and an API process. A background conversation turn is started; while its
/// model call runs, the silo that holds its grain is killed by PID (SIGKILL). The reminder brings the grain up on the
/// survivor, which runs the work again: the response completes, and the turn is in the conversation exactly once.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class BackgroundResponseCrashDrill(DrillBackends backends)
{
    private const string AdminKey = "sk-background-drill";

    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task A_background_turn_whose_silo_is_killed_completes_on_the_other_silo_and_is_appended_once(Backend backend)
    {
        var log = TestContext.Current.TestOutputHelper;
        var total = Stopwatch.StartNew();
        await using var cluster = ProcessCluster.On(await backends.For(backend), "background-drill", AdminKey);
        var silos = await Task.WhenAll(cluster.StartSiloAsync("silo1"), cluster.StartSiloAsync("silo2"));
        var api = await cluster.StartApiAsync();
        using var http = cluster.Http(api);
        var grains = await cluster.Grains();

        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString()!;
        // The model waits before its first token, long enough for the kill to land while the call runs.
        var queued = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"Survive this [sim:delay=15000]","background":true}""");
        var id = queued.GetProperty("id").GetString()!;
        await Eventually.Get(async () => await Status(http, id) == "in_progress" ? "running" : null);
        var grain = grains.GetGrain<IBackgroundResponseGrain>(GrainKeys.For("default", id)).GetGrainId();
        var host = Assert.Single((await cluster.Activations([grain]))[grain]);
        var victim = silos.Single(silo => silo.Name == host);
        await victim.Process.KillAsync();
        var sinceKill = Stopwatch.StartNew();
        await cluster.WaitUntilServingWithout(victim, [api], TimeSpan.FromSeconds(45));
        log?.WriteLine($"Response {id} was running on {victim.Name}, killed {total.Elapsed.TotalSeconds:F1} s into the drill; the cluster served again {sinceKill.Elapsed.TotalSeconds:F1} s later.");

        // A reminder ticks once a minute; the run after it waits the model's delay again.
        var done = await Eventually.Get(async () => await Status(http, id) is "completed" or "failed" or "cancelled" or "incomplete"
            ? await http.GetJson($"/v1/responses/{id}") : (JsonElement?)null, TimeSpan.FromMinutes(4));
        var items = (await http.GetJson($"/v1/conversations/{conversation}/items?order=asc")).GetProperty("data");
        var after = (await cluster.Activations([grain]))[grain];
        log?.WriteLine($"Finished {sinceKill.Elapsed.TotalSeconds:F1} s after the kill, on {string.Join("+", after)}: {done.GetProperty("status").GetString()}; "
            + $"the conversation holds {items.GetArrayLength()} items; whole drill {total.Elapsed.TotalSeconds:F1} s.");

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(["user", "assistant"], items.EnumerateArray().Select(item => item.GetProperty("role").GetString()));
        Assert.Equal(items[1].GetProperty("id").GetString(), done.GetProperty("output")[0].GetProperty("id").GetString());
        Assert.Equal(id, done.GetProperty("id").GetString());
        Assert.DoesNotContain(victim.Name, after);
    }

    private static async Task<string?> Status(HttpClient http, string id)
    {
        try
        {
            using var response = await http.GetAsync($"/v1/responses/{id}");
            return response.IsSuccessStatusCode ? JsonElement.Parse(await response.Content.ReadAsStringAsync()).GetProperty("status").GetString() : null;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return null; // the cluster still failing over
        }
    }
}
