using System.Net;
using System.Text.Json;
using Conversations.Grains;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;
using Orleans.Storage;
using static Conversations.Tests.Grains.ConversationStoreTests;

namespace Conversations.Tests.Grains;

/// <summary>
/// An activation reads a conversation's head and newest pages, and the older pages only when a call needs them. The probe:
/// the oldest page's record is taken out of storage (outside the gateway) after a restart; whatever works meanwhile did not
/// read it, and what needs it either reads it once it is back or finds the conversation damaged.
/// </summary>
public sealed class LazyPagesTests : IDisposable
{
    private const int Page = ConversationStore.PageSize;

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-lazy-");
    private readonly List<string> _texts = [.. Enumerable.Range(0, (ConversationStore.DefaultResidentPages + 1) * Page + 10).Select(i => $"item {i}")];

    [Fact]
    public async Task A_windowed_turn_and_the_newest_items_need_no_older_page_and_a_whole_context_a_listing_and_a_delete_read_them()
    {
        var (id, pages, whole, windowed) = await Seed();
        List<ItemPageRef> afterDelete;
        await using (var second = Embedded(_data))
        {
            using var http = second.Http();
            var oldest = await Take(second, id, pages[0]);

            Assert.Equal(windowed, await InputTokens(http, id, """ "context_policy":{"window_turns":2}, """));
            var newest = await http.GetJson($"/v1/conversations/{id}/items?limit=20");
            Assert.Equal(_texts.TakeLast(20).Reverse(), newest.GetProperty("data").EnumerateArray().Select(item => item.GetProperty("content")[0].GetProperty("text").GetString()));
            Assert.True(newest.GetProperty("has_more").GetBoolean());
            var later = await http.GetJson($"/v1/conversations/{id}/items?order=asc&after={newest.GetProperty("data")[9].GetProperty("id").GetString()}");
            Assert.Equal(_texts.TakeLast(9), later.GetProperty("data").EnumerateArray().Select(item => item.GetProperty("content")[0].GetProperty("text").GetString()));

            await Put(second, id, pages[0], oldest);
            Assert.Equal(whole, await InputTokens(http, id, "")); // the window reached past the newest pages: the older ones were read
            var all = await Items(http, id);
            Assert.Equal(_texts, all.Select(item => item.Text));
            using var removed = await http.DeleteAsync(new Uri($"/v1/conversations/{id}/items/{all[3].Id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            afterDelete = (await Stored(second, id)).Head.Pages;
            Assert.Equal(pages.Skip(1), afterDelete.Skip(1)); // only the page that lost an item was written again
        }

        // Appended to by an activation that has read only the newest pages: the older ones stay as they are.
        await using var third = Embedded(_data);
        using var again = third.Http();
        await AddItems(again, id, ["added"]);
        var stored = await Stored(third, id);
        Assert.Equal(afterDelete, stored.Head.Pages);
        Assert.Equal([.. _texts.Skip(3 * Page), "added"], stored.Head.Items.Select(item => item.Text));
        Assert.Equal([.. _texts.Where(text => text != "item 3"), "added"], (await Items(again, id)).Select(item => item.Text));
    }

    [Fact]
    public async Task An_older_page_storage_lost_is_found_when_it_is_needed_and_the_conversation_can_still_be_deleted()
    {
        var (id, pages, _, windowed) = await Seed();

        await using var second = Embedded(_data);
        using var http = second.Http();
        await Take(second, id, pages[0]);
        Assert.Equal(windowed, await InputTokens(http, id, """ "context_policy":{"window_turns":2}, """));

        using (var listed = await http.GetAsync(new Uri($"/v1/conversations/{id}/items?order=asc", UriKind.Relative)))
        {
            Assert.Equal("server_error", (await listed.AssertOpenAIError(HttpStatusCode.InternalServerError)).GetProperty("type").GetString());
        }

        using (var turn = await new HttpConversation(http, id).TryTurnAsync("still there?"))
        {
            await turn.AssertOpenAIError(HttpStatusCode.InternalServerError); // damaged: every call but a delete
        }

        using (var deleted = await http.DeleteAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        foreach (var page in pages.Skip(1))
        {
            Assert.Null(await PageRecord(second, id, page.Key));
        }
    }

    public void Dispose() => _data.Delete(recursive: true);

    /// <summary>A conversation of more pages than an activation reads, and what a whole and a windowed turn on it would send.</summary>
    private async Task<(string Id, List<ItemPageRef> Pages, int Whole, int Windowed)> Seed()
    {
        await using var first = Embedded(_data);
        using var http = first.Http();
        var id = (await HttpConversation.CreateAsync(http)).Id;
        await AddItems(http, id, _texts);
        var pages = (await Stored(first, id)).Head.Pages;
        Assert.Equal(ConversationStore.DefaultResidentPages + 1, pages.Count);
        return (id, pages, await InputTokens(http, id, ""), await InputTokens(http, id, """ "context_policy":{"window_turns":2}, """));
    }

    private static async Task<int> InputTokens(HttpClient http, string id, string policy) =>
        (await http.PostJson("/v1/responses/input_tokens", $$"""{"model":"sim-small","conversation":"{{id}}",{{policy}}"input":"What did I say?"}"""))
            .GetProperty("input_tokens").GetInt32();

    /// <summary>Takes a page's record out of storage (as an operator's mistake would), returning it for <see cref="Put"/>.</summary>
    private static async Task<GrainState<ItemPageRecord>> Take(GatewayFactory gateway, string id, ItemPageRef page)
    {
        var record = new GrainState<ItemPageRecord>();
        await Storage(gateway).ReadStateAsync(ConversationStore.PageName(page.Key), GrainOf(gateway, id), record);
        Assert.True(record.RecordExists);
        await Storage(gateway).ClearStateAsync(ConversationStore.PageName(page.Key), GrainOf(gateway, id), new GrainState<ItemPageRecord> { ETag = record.ETag });
        return record;
    }

    private static Task Put(GatewayFactory gateway, string id, ItemPageRef page, GrainState<ItemPageRecord> record) =>
        Storage(gateway).WriteStateAsync(ConversationStore.PageName(page.Key), GrainOf(gateway, id), new GrainState<ItemPageRecord>(record.State));
}
