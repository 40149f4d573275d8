using Conversations.Grains;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Grains;

[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ConversationGrainTests(ClusterFixture fixture)
{
    private static readonly Dictionary<string, string> NoMetadata = [];

    [Fact]
    public async Task Created_conversation_keeps_its_items_in_order_with_token_counts()
    {
        var conversation = await Create([new NewItem(Roles.User, "first"), new NewItem(Roles.Assistant, "second")]);

        var page = await conversation.ListItems(new ItemQuery(null, 10, Ascending: true));

        Assert.True(page.IsSuccess);
        Assert.Equal(["first", "second"], page.Value.Items.Select(i => i.Text));
        Assert.All(page.Value.Items, item => Assert.StartsWith("msg_", item.Id, StringComparison.Ordinal));
        Assert.All(page.Value.Items, item => Assert.True(item.Tokens > 0));
    }

    [Fact]
    public async Task Creating_an_existing_conversation_is_a_conflict()
    {
        var key = NewKey();
        var grain = fixture.Grains.GetGrain<IConversationGrain>(key);
        Assert.True((await grain.Create(NoMetadata, [])).IsSuccess);

        var again = await grain.Create(NoMetadata, []);

        Assert.Equal(409, again.Error?.Status);
    }

    [Fact]
    public async Task A_turn_sees_the_history_and_appends_input_and_output()
    {
        var conversation = await Create([new NewItem(Roles.User, "My name is Ada.")]);

        var result = await RunTurn(conversation, "What is my name?");

        Assert.Contains("2 messages in context", result.Text, StringComparison.Ordinal);
        var items = (await conversation.ListItems(new ItemQuery(null, 10, Ascending: true))).Value!.Items;
        Assert.Equal([Roles.User, Roles.User, Roles.Assistant], items.Select(i => i.Role));
        Assert.Equal("What is my name?", items[1].Text);
        Assert.Equal(result.Text, items[2].Text);
        Assert.Equal(Assert.Single(result.OutputItems!).Id, items[2].Id);
    }

    [Fact]
    public async Task Concurrent_turns_run_one_at_a_time_and_keep_the_history_linear()
    {
        var conversation = await Create([]);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => RunTurn(conversation, $"message {i}")));

        // Each turn saw every earlier turn: 1, 3, 5, ... messages. Interleaved turns would repeat a count.
        var contextSizes = results.Select(r => ContextSize(r.Text)).Order().ToList();
        Assert.Equal([1, 3, 5, 7, 9, 11], contextSizes);
        var items = (await conversation.ListItems(new ItemQuery(null, 100, Ascending: true))).Value!.Items;
        Assert.Equal(12, items.Count);
        for (var i = 0; i < items.Count; i += 2)
        {
            Assert.Equal(Roles.User, items[i].Role);
            Assert.Equal(Roles.Assistant, items[i + 1].Role);
            Assert.Equal(items[i].ResponseId, items[i + 1].ResponseId);
        }
    }

    [Fact]
    public async Task Reads_do_not_wait_behind_a_running_turn_and_a_cancelled_turn_appends_nothing()
    {
        var conversation = await Create([new NewItem(Roles.User, "hello")]);
        using var cancel = new CancellationTokenSource();
        var turn = conversation.RunTurn(TurnFor("[sim:stall=1] keep talking"), cancel.Token).GetAsyncEnumerator(cancel.Token);

        // The first delta proves the turn holds the conversation and is inside the model call.
        Assert.True(await turn.MoveNextAsync());
        Assert.NotNull(turn.Current.Delta);

        var info = await conversation.Get();
        var page = await conversation.ListItems(new ItemQuery(null, 10, Ascending: true));
        Assert.Equal(1, info.Value!.ItemCount);
        Assert.Single(page.Value!.Items);

        await cancel.CancelAsync();
        await turn.DisposeAsync();

        // The gate was released and nothing of the cancelled turn was stored.
        var next = await RunTurn(conversation, "after cancel");
        Assert.Contains("2 messages in context", next.Text, StringComparison.Ordinal);
        Assert.Equal(3, (await conversation.Get()).Value!.ItemCount);
    }

    [Fact]
    public async Task A_failed_model_call_appends_nothing_and_reports_the_upstream_error()
    {
        var conversation = await Create([new NewItem(Roles.User, "hello")]);

        var chunks = await Collect(conversation.RunTurn(TurnFor("[sim:status=503] fail please", await FailingRoutes.Create(fixture.Grains))));

        var error = Assert.Single(chunks).Error;
        Assert.NotNull(error);
        Assert.Equal(502, error.Status);
        Assert.Equal(1, (await conversation.Get()).Value!.ItemCount);
    }

    [Fact]
    public async Task A_conversation_replays_its_last_keyed_requests_and_forgets_older_keys()
    {
        var conversation = await Create([]);
        for (var i = 0; i <= IdempotencyRecord.Remembered; i++)
        {
            Assert.True((await conversation.AddItems([new NewItem(Roles.User, $"note {i}")], new Idempotency($"key-{i}", $"body-{i}"))).IsSuccess);
        }

        var replayed = await conversation.AddItems([new NewItem(Roles.User, "note 1")], new Idempotency("key-1", "body-1"));
        var forgotten = await conversation.AddItems([new NewItem(Roles.User, "note 0")], new Idempotency("key-0", "body-0"));

        Assert.Equal("note 1", Assert.Single(replayed.Value!).Text);
        Assert.True(forgotten.IsSuccess);
        Assert.Equal(IdempotencyRecord.Remembered + 2, (await conversation.Get()).Value!.ItemCount); // the replay appended nothing, the forgotten key did
    }

    [Fact]
    public async Task A_stream_cut_after_tokens_ends_in_an_error_and_appends_nothing()
    {
        var conversation = await Create([]);

        var chunks = await Collect(conversation.RunTurn(TurnFor("[sim:cut=3] talk", await FailingRoutes.Create(fixture.Grains))));

        Assert.Equal(3, chunks.Count(c => c.Delta is not null));
        Assert.NotNull(chunks[^1].Error);
        Assert.DoesNotContain(chunks, c => c.Final is not null);
        Assert.Equal(0, (await conversation.Get()).Value!.ItemCount);
    }

    [Fact]
    public async Task Deleted_conversation_is_gone_for_reads_writes_and_turns()
    {
        var conversation = await Create([new NewItem(Roles.User, "hello")]);

        Assert.True((await conversation.Delete()).IsSuccess);

        Assert.Equal(404, (await conversation.Get()).Error?.Status);
        Assert.Equal(404, (await conversation.AddItems([new NewItem(Roles.User, "x")])).Error?.Status);
        Assert.Equal(404, Assert.Single(await Collect(conversation.RunTurn(TurnFor("x")))).Error?.Status);
    }

    [Fact]
    public async Task The_same_conversation_id_under_another_tenant_is_another_grain()
    {
        var id = Ids.New(Ids.Conversation);
        var ours = fixture.Grains.GetGrain<IConversationGrain>(GrainKeys.For("tenant-a", id));
        var theirs = fixture.Grains.GetGrain<IConversationGrain>(GrainKeys.For("tenant-b", id));
        await ours.Create(NoMetadata, [new NewItem(Roles.User, "secret")]);

        Assert.Equal(404, (await theirs.Get()).Error?.Status);
        Assert.Equal(404, (await theirs.ListItems(new ItemQuery(null, 10, true))).Error?.Status);
    }

    [Fact]
    public async Task Item_pages_follow_after_limit_and_order()
    {
        var conversation = await Create([.. Enumerable.Range(1, 5).Select(i => new NewItem(Roles.User, $"m{i}"))]);

        var newest = (await conversation.ListItems(new ItemQuery(null, 2, Ascending: false))).Value!;
        var next = (await conversation.ListItems(new ItemQuery(newest.Items[^1].Id, 2, Ascending: false))).Value!;
        var last = (await conversation.ListItems(new ItemQuery(next.Items[^1].Id, 2, Ascending: false))).Value!;

        Assert.Equal(["m5", "m4"], newest.Items.Select(i => i.Text));
        Assert.True(newest.HasMore);
        Assert.Equal(["m3", "m2"], next.Items.Select(i => i.Text));
        Assert.Equal(["m1"], last.Items.Select(i => i.Text));
        Assert.False(last.HasMore);
        Assert.Equal(404, (await conversation.ListItems(new ItemQuery("msg_missing", 2, true))).Error?.Status);
    }

    private static int ContextSize(string reply)
    {
        var marker = reply.IndexOf(" messages in context", StringComparison.Ordinal);
        var start = reply.LastIndexOf(", ", marker, StringComparison.Ordinal) + 2;
        return int.Parse(reply[start..marker], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<IConversationGrain> Create(IReadOnlyList<NewItem> items)
    {
        var grain = fixture.Grains.GetGrain<IConversationGrain>(NewKey());
        var created = await grain.Create(NoMetadata, items);
        Assert.True(created.IsSuccess, created.Error?.Message);
        return grain;
    }

    private static string NewKey() => GrainKeys.For("tests", Ids.New(Ids.Conversation));

    private static TurnRequest TurnFor(string text, string model = "sim-small") => new(
        Ids.New(Ids.Response),
        Ids.New(Ids.Message),
        [new ConversationItem(Ids.New(Ids.Message), Roles.User, text, 0, DateTimeOffset.UtcNow)],
        null,
        new CompletionRequest(model, []));

    private static async Task<CompletionResult> RunTurn(IConversationGrain conversation, string text)
    {
        var chunks = await Collect(conversation.RunTurn(TurnFor(text)));
        var final = chunks[^1].Final;
        Assert.True(final is not null, chunks[^1].Error?.Message);
        return final;
    }

    private static async Task<List<CompletionChunk>> Collect(IAsyncEnumerable<CompletionChunk> chunks)
    {
        var list = new List<CompletionChunk>();
        await foreach (var chunk in chunks)
        {
            list.Add(chunk);
        }

        return list;
    }
}
