using System.Net;
using System.Text.Json;
using Conversations.Grains;
using Conversations.Tests.Api;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Conversations.Tests.Grains.ConversationStoreTests;

namespace Conversations.Tests.Grains;

/// <summary>
/// A long conversation's activation holds its newest pages and the open one, not its history: after each write it lets go of
/// the sealed pages past the resident ones and of what a listing read (decision 0084), while every item stays in storage, in order.
/// </summary>
public sealed class BoundedResidencyTests : IDisposable
{
    private const int Turns = 300;
    private const int Bound = (ConversationStore.DefaultResidentPages + 1) * ConversationStore.PageSize; // the resident pages and the open one

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-bounded-");

    [Fact]
    public async Task After_300_windowed_turns_the_activation_holds_its_newest_pages_and_the_items_api_still_lists_and_removes_every_item()
    {
        await using var gateway = Embedded(_data);
        using var http = gateway.Http();
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"context_policy":{"window_turns":4}}"""));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var conversation = new HttpConversation(http, JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        var residency = gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<IConversationResidency>(GrainKeys.For("default", conversation.Id));
        var answers = new List<string>();
        for (var i = 0; i < Turns; i++)
        {
            answers.Add(await conversation.TurnAsync($"turn {i}"));
        }

        var afterTurns = await residency.ResidentItems();
        var all = await Items(http, conversation.Id);
        var afterListing = await residency.ResidentItems();
        using (var removed = await http.DeleteAsync(new Uri($"/v1/conversations/{conversation.Id}/items/{all[6].Id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode); // an early item, in a page the activation had let go of
        }

        await conversation.TurnAsync("one more");
        var afterMore = await residency.ResidentItems();
        var listedAgain = await Items(http, conversation.Id);

        Assert.InRange(afterTurns, 1, Bound); // 600 items taken, at most the resident pages and the open one held
        Assert.Equal(Enumerable.Range(0, Turns).SelectMany(i => new[] { $"turn {i}", answers[i] }), all.Select(item => item.Text));
        Assert.Equal(2 * Turns, afterListing); // the listing read the older pages, held until the next write
        Assert.InRange(afterMore, 1, Bound);
        Assert.Equal([.. all.Select(item => item.Text).Where((_, i) => i != 6), "one more", listedAgain[^1].Text], listedAgain.Select(item => item.Text));
        Assert.Equal("turn 0", (await http.GetJson($"/v1/conversations/{conversation.Id}/items/{all[0].Id}")).GetProperty("content")[0].GetProperty("text").GetString());
    }

    public void Dispose() => _data.Delete(recursive: true);
}
