using System.Net;
using System.Text.Json;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

/// <summary>
/// Grain storage (Azure Blob in a real Azurite, or a real PostgreSQL) goes away and comes back: requests that need it
/// get a clean 503 with retry-after, nothing is half-written, and service resumes without a restart.
/// </summary>
public sealed class StorageOutageTests
{
    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task A_storage_outage_gives_clean_503s_and_recovers_without_a_restart_or_a_half_written_turn(Backend backend)
    {
        await using var storage = await ClusterBackend.StartAsync(backend);
        await using var gateway = new GatewayFactory(storage.GrainStorage());
        using var http = gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        await conversation.TurnAsync("before the outage");
        var before = await conversation.ItemsAsync();

        await storage.StopAsync();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        using var turnDuringOutage = await conversation.TryTurnAsync("during the outage");
        var turnFailedAfter = outage.Elapsed;
        using var createDuringOutage = await http.PostAsync("/v1/conversations", Api.ChatCompletionsTests.Json("{}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"Outage: turn answered in {turnFailedAfter.TotalSeconds:F1} s, create in {(outage.Elapsed - turnFailedAfter).TotalSeconds:F1} s.");

        await AssertRetriable(turnDuringOutage);
        await AssertRetriable(createDuringOutage);

        await storage.StartAgainAsync();
        string? reply = null;
        for (var attempt = 0; attempt < 20 && reply is null; attempt++)
        {
            using var response = await conversation.TryTurnAsync("after the outage");
            if (response.IsSuccessStatusCode)
            {
                reply = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString();
            }
            else
            {
                await AssertRetriable(response);
                await Task.Delay(response.Headers.RetryAfter!.Delta!.Value, TestContext.Current.CancellationToken);
            }
        }

        var after = await conversation.ItemsAsync();
        Assert.NotNull(reply);
        Assert.Equal(before, after.Take(2));
        Assert.Equal([("user", "after the outage"), ("assistant", reply)], after.Skip(2)); // the failed turn left nothing behind
    }

    private static async Task AssertRetriable(HttpResponseMessage response)
    {
        await response.AssertOpenAIError(HttpStatusCode.ServiceUnavailable);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }
}
