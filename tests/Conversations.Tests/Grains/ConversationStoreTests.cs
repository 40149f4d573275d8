using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Grains;
using Conversations.Tests.Api;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Conversations.Tests.Grains;

/// <summary>
/// A conversation is stored as sealed pages of items plus a small head, so a turn writes what it changed:
/// where items go (the plan), and the records a real store (the embedded SQLite) holds across a restart.
/// </summary>
public sealed class ConversationStoreTests : IDisposable
{
    private const int Page = ConversationStore.PageSize;

    /// <summary>The embedded gateway's SQLite file lives here, one directory per test.</summary>
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-pages-");

    [Fact]
    public void Appending_seals_whole_pages_off_the_unpaged_items_and_keeps_sealed_pages_as_they_are()
    {
        var current = Paged(pages: 0, tail: Page - 4);
        List<ConversationItem> appended = [.. current.Items, .. Items(10, from: 500)];

        var plan = Plan(current, appended);

        var sealedPage = Assert.Single(plan.Writes);
        Assert.Equal(appended.Take(Page), sealedPage.Items);
        Assert.Equal([sealedPage.Page], plan.Pages);
        Assert.Empty(plan.Dropped);

        var later = current with { Items = appended, Pages = plan.Pages };
        var again = Plan(later, [.. appended, .. Items(3, from: 1_000)]);
        Assert.Empty(again.Writes);
        Assert.Equal(plan.Pages, again.Pages);
    }

    [Fact]
    public void Deleting_an_item_rewrites_only_its_page_under_a_new_key_and_drops_the_old_one()
    {
        var current = Paged(pages: 3, tail: 10);
        var deleted = current.Items[Page + 5];

        var plan = Plan(current, current.Items.FindAll(item => item != deleted));

        var rewritten = Assert.Single(plan.Writes);
        Assert.Equal(current.Items.Skip(Page).Take(Page).Where(item => item != deleted), rewritten.Items);
        Assert.Equal(["p0", "new-0", "p2"], plan.Pages.Select(page => page.Key));
        Assert.Equal([Page, Page - 1, Page], plan.Pages.Select(page => page.Count));
        Assert.Equal(["p1"], plan.Dropped);
    }

    [Fact]
    public void A_page_whose_items_are_all_gone_is_dropped_without_a_write()
    {
        var current = Paged(pages: 3, tail: 10);

        var plan = Plan(current, [.. current.Items.Take(Page), .. current.Items.Skip(2 * Page)]);

        Assert.Empty(plan.Writes);
        Assert.Equal(["p0", "p2"], plan.Pages.Select(page => page.Key));
        Assert.Equal(["p1"], plan.Dropped);
    }

    [Fact]
    public void From_the_first_page_whose_items_moved_everything_is_paged_again()
    {
        var current = Paged(pages: 3, tail: 10);
        var reordered = new List<ConversationItem>([.. current.Items.Take(Page), .. current.Items.Skip(Page).Reverse()]);

        var plan = Plan(current, reordered);

        Assert.Equal(["p0", "new-0", "new-1"], plan.Pages.Select(page => page.Key));
        Assert.Equal(reordered.Skip(Page).Take(2 * Page), plan.Writes.SelectMany(write => write.Items));
        Assert.Equal(["p1", "p2"], plan.Dropped);
    }

    [Fact]
    public void Pages_an_activation_has_not_read_are_kept_as_they_are_by_a_write_from_either_view()
    {
        var whole = Paged(pages: 3, tail: Page - 2);
        var partial = whole with { Items = whole.Items[(2 * Page)..], Unloaded = 2 * Page };
        var appended = Items(5, from: 900);

        // Appending to what an activation holds: the unread pages stay, the full tail is sealed after them.
        var fromPartial = Plan(partial, [.. partial.Items, .. appended], partial.Unloaded);
        Assert.Equal(["p0", "p1", "p2", "new-0"], fromPartial.Pages.Select(page => page.Key));
        Assert.Equal([.. whole.Items.Skip(3 * Page), .. appended.Take(2)], Assert.Single(fromPartial.Writes).Items);
        Assert.Empty(fromPartial.Dropped);

        // A write prepared before the older pages were read, planned against the state after reading them: the same plan.
        var againstWhole = Plan(whole, [.. partial.Items, .. appended], partial.Unloaded);
        Assert.Equal(fromPartial.Pages.Select(page => page.Count), againstWhole.Pages.Select(page => page.Count));
        Assert.Equal(["p0", "p1", "p2"], againstWhole.Pages.Take(3).Select(page => page.Key));
        Assert.Empty(againstWhole.Dropped);

        // Deleting a newest item from a partial view rewrites only its own page.
        var deleted = partial.Items[3];
        var delete = Plan(partial, partial.Items.FindAll(item => item != deleted), partial.Unloaded);
        Assert.Equal(["p0", "p1", "new-0"], delete.Pages.Select(page => page.Key));
        Assert.Equal(["p2"], delete.Dropped);
    }

    [Fact]
    public async Task A_long_conversation_is_stored_as_pages_and_a_small_head_reads_back_whole_after_a_restart_and_deletes_leave_no_record()
    {
        var texts = Enumerable.Range(0, 150).Select(i => $"item {i}").ToList();
        string id;
        List<ItemPageRef> pages;
        await using (var first = Embedded(_data))
        {
            using var http = first.Http();
            id = (await HttpConversation.CreateAsync(http)).Id;
            await AddItems(http, id, texts);

            var stored = await Stored(first, id);
            Assert.Equal(texts.Skip(2 * Page), stored.Head.Items.Select(item => item.Text));
            Assert.Equal([Page, Page], stored.Head.Pages.Select(page => page.Count));
            Assert.Equal(texts.Take(2 * Page), stored.Pages.SelectMany(page => page!).Select(item => item.Text));
            Assert.Empty(stored.Head.Unreferenced);
            pages = stored.Head.Pages;
        }

        await using var second = Embedded(_data);
        using var again = second.Http();
        var items = await Items(again, id);
        Assert.Equal(texts, items.Select(item => item.Text));

        using (var removed = await again.DeleteAsync(new Uri($"/v1/conversations/{id}/items/{items[Page + 6].Id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        var afterDelete = await Stored(second, id);
        Assert.Equal(pages[0], afterDelete.Head.Pages[0]);
        Assert.NotEqual(pages[1].Key, afterDelete.Head.Pages[1].Key);
        Assert.Equal(Page - 1, afterDelete.Head.Pages[1].Count);
        Assert.Null(await PageRecord(second, id, pages[1].Key)); // the deleted item's text is gone from storage, not just unreferenced
        Assert.Equal(texts.Where(text => text != $"item {Page + 6}"), (await Items(again, id)).Select(item => item.Text));

        using (var deleted = await again.DeleteAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        foreach (var page in afterDelete.Head.Pages)
        {
            Assert.Null(await PageRecord(second, id, page.Key));
        }

        Assert.False((await Head(second, id)).RecordExists);
    }

    [Fact]
    public async Task Records_left_listed_for_clearing_are_cleared_when_the_conversation_is_next_activated()
    {
        string kept, deleted;
        ItemPageRef page;
        await using (var first = Embedded(_data))
        {
            using var http = first.Http();
            (kept, deleted) = ((await HttpConversation.CreateAsync(http)).Id, (await HttpConversation.CreateAsync(http)).Id);
            await AddItems(http, kept, ["kept"]);
            await AddItems(http, deleted, Enumerable.Range(0, Page + 3).Select(i => $"item {i}"));
            page = Assert.Single((await Stored(first, deleted)).Head.Pages);
        }

        await using var second = Embedded(_data);

        // What storage holds when a silo dies between steps: a page whose clearing failed after an item delete, still
        // listed in its conversation's head; and a delete cut short after its first step (a head that is no conversation).
        var orphan = new GrainState<ItemPageRecord>(new ItemPageRecord { Items = Items(1, from: 7) });
        await Storage(second).WriteStateAsync(ConversationStore.PageName("orphan"), GrainOf(second, kept), orphan);
        var keptHead = await Head(second, kept);
        keptHead.State = keptHead.State! with { Unreferenced = ["orphan"] };
        await Storage(second).WriteStateAsync(ConversationStore.HeadName, GrainOf(second, kept), keptHead);
        var deletedHead = await Head(second, deleted);
        deletedHead.State = new ConversationState { Unreferenced = [page.Key] };
        await Storage(second).WriteStateAsync(ConversationStore.HeadName, GrainOf(second, deleted), deletedHead);

        using var http2 = second.Http();
        Assert.Equal(["kept"], (await Items(http2, kept)).Select(item => item.Text)); // activates it
        using (var gone = await http2.GetAsync(new Uri($"/v1/conversations/{deleted}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        await Eventually.Get(async () => await PageRecord(second, kept, "orphan") is null && (await Head(second, kept)).State!.Unreferenced.Count == 0 ? "cleared" : null);
        await Eventually.Get(async () => await PageRecord(second, deleted, page.Key) is null && !(await Head(second, deleted)).RecordExists ? "cleared" : null);
        Assert.Equal(["kept"], (await Items(http2, kept)).Select(item => item.Text));
    }

    [Fact]
    public async Task A_conversation_whose_page_storage_lost_refuses_reads_and_turns_with_a_500_and_can_still_be_deleted()
    {
        string id;
        List<ItemPageRef> pages;
        await using (var first = Embedded(_data))
        {
            using var http = first.Http();
            id = (await HttpConversation.CreateAsync(http)).Id;
            await AddItems(http, id, Enumerable.Range(0, 3 * Page + 3).Select(i => $"item {i}"));
            pages = (await Stored(first, id)).Head.Pages;
        }

        await using var second = Embedded(_data);
        var lost = new GrainState<ItemPageRecord>();
        await Storage(second).ReadStateAsync(ConversationStore.PageName(pages[1].Key), GrainOf(second, id), lost);
        await Storage(second).ClearStateAsync(ConversationStore.PageName(pages[1].Key), GrainOf(second, id), lost); // lost outside the gateway
        using var http2 = second.Http();

        using (var items = await http2.GetAsync(new Uri($"/v1/conversations/{id}/items", UriKind.Relative)))
        {
            Assert.Equal("server_error", (await items.AssertOpenAIError(HttpStatusCode.InternalServerError)).GetProperty("type").GetString());
        }

        using (var turn = await new HttpConversation(http2, id).TryTurnAsync("still there?"))
        {
            Assert.Equal("server_error", (await turn.AssertOpenAIError(HttpStatusCode.InternalServerError)).GetProperty("type").GetString());
        }

        using (var deleted = await http2.DeleteAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.False((await Head(second, id)).RecordExists);
        Assert.Null(await PageRecord(second, id, pages[0].Key)); // the pages that were still there are cleared too
        Assert.Null(await PageRecord(second, id, pages[2].Key));
        using var gone = await http2.GetAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private static PagePlan Plan(ConversationState current, List<ConversationItem> next, int nextUnloaded = 0)
    {
        var keys = 0;
        return ConversationStore.Plan(current, next, () => $"new-{keys++}", nextUnloaded);
    }

    private static List<ConversationItem> Items(int count, int from = 0) =>
        [.. Enumerable.Range(from, count).Select(i => new ConversationItem($"msg_{i}", Roles.User, $"item {i}", 1, DateTimeOffset.UnixEpoch))];

    private static ConversationState Paged(int pages, int tail) => new()
    {
        Id = "conv_test",
        Items = Items(pages * Page + tail),
        Pages = [.. Enumerable.Range(0, pages).Select(i => new ItemPageRef($"p{i}", Page))],
    };

    public void Dispose() => _data.Delete(recursive: true);

    internal static GatewayFactory Embedded(DirectoryInfo data) => new(new Dictionary<string, string?>
    {
        ["Conversations:Cluster:Storage"] = "Local",
        ["Conversations:Cluster:LocalStoragePath"] = Path.Combine(data.FullName, "conversations.db"),
    });

    /// <summary>User messages added 20 at a time (the API's most per request).</summary>
    internal static async Task AddItems(HttpClient http, string id, IEnumerable<string> texts)
    {
        foreach (var batch in texts.Chunk(20))
        {
            using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(
                JsonSerializer.Serialize(new { items = batch.Select(text => new { role = "user", content = text }) })));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }
    }

    internal static async Task<List<(string Id, string Text)>> Items(HttpClient http, string id)
    {
        var items = new List<(string Id, string Text)>();
        for (string? after = null; ;)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/v1/conversations/{id}/items?order=asc&limit=100{(after is null ? "" : "&after=" + after)}");
            items.AddRange(page.GetProperty("data").EnumerateArray().Select(item => (
                item.GetProperty("id").GetString()!, item.GetProperty("content")[0].GetProperty("text").GetString()!)));
            if (!page.GetProperty("has_more").GetBoolean())
            {
                return items;
            }

            after = items[^1].Id;
        }
    }

    internal static async Task<(ConversationState Head, List<List<ConversationItem>?> Pages)> Stored(GatewayFactory gateway, string id)
    {
        var head = (await Head(gateway, id)).State ?? throw new InvalidOperationException("No head record.");
        var pages = new List<List<ConversationItem>?>();
        foreach (var page in head.Pages)
        {
            pages.Add(await PageRecord(gateway, id, page.Key));
        }

        return (head, pages);
    }

    private static async Task<GrainState<ConversationState>> Head(GatewayFactory gateway, string id)
    {
        var record = new GrainState<ConversationState>();
        await Storage(gateway).ReadStateAsync(ConversationStore.HeadName, GrainOf(gateway, id), record);
        return record;
    }

    internal static async Task<List<ConversationItem>?> PageRecord(GatewayFactory gateway, string id, string key)
    {
        var record = new GrainState<ItemPageRecord>();
        await Storage(gateway).ReadStateAsync(ConversationStore.PageName(key), GrainOf(gateway, id), record);
        return record.RecordExists ? record.State?.Items : null;
    }

    internal static IGrainStorage Storage(GatewayFactory gateway) => gateway.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Conversations);

    internal static GrainId GrainOf(GatewayFactory gateway, string id) =>
        gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<IConversationGrain>(GrainKeys.For("default", id)).GetGrainId();
}
