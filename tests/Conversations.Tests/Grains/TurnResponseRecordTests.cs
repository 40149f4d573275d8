using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Grains;

/// <summary>A turn given its response record stores it beside its own write (decision 0077).</summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class TurnResponseRecordTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_turn_stores_its_response_record_and_a_response_grain_read_before_the_turn_finds_it()
    {
        var (conversation, id) = await Create();
        var responseId = Ids.New(Ids.Response);
        var response = fixture.Grains.GetGrain<IResponseGrain>(GrainKeys.For("tests", responseId));
        Assert.Equal(404, (await response.Get()).Error?.Status); // active now, with no record

        var final = await RunTurn(conversation, Turn(responseId) with { Response = InProgress(responseId, id) });

        var stored = await response.Get();
        Assert.True(stored.IsSuccess, stored.Error?.Message);
        Assert.Equal("completed", stored.Value.Status);
        Assert.Equal(id, stored.Value.ConversationId);
        Assert.Equal(final.OutputItems!.Select(item => (item.Id, item.Text)), stored.Value.Output.Select(item => (item.Id, item.Text)));
        Assert.Equal(final.Usage, stored.Value.Usage);
    }

    [Fact]
    public async Task A_turn_without_a_response_record_stores_none()
    {
        var (conversation, _) = await Create();
        var responseId = Ids.New(Ids.Response);

        await RunTurn(conversation, Turn(responseId));

        Assert.Equal(404, (await fixture.Grains.GetGrain<IResponseGrain>(GrainKeys.For("tests", responseId)).Get()).Error?.Status);
    }

    private async Task<(IConversationGrain Grain, string Id)> Create()
    {
        var id = Ids.New(Ids.Conversation);
        var grain = fixture.Grains.GetGrain<IConversationGrain>(GrainKeys.For("tests", id));
        Assert.True((await grain.Create(new Dictionary<string, string>(), [])).IsSuccess);
        return (grain, id);
    }

    private static TurnRequest Turn(string responseId) => new(
        responseId, Ids.New(Ids.Message), [new ConversationItem(Ids.New(Ids.Message), Roles.User, "hello", 0, DateTimeOffset.UtcNow)], null, new CompletionRequest("sim-small", []));

    private static StoredResponse InProgress(string responseId, string conversationId) => new(
        responseId, DateTimeOffset.UtcNow, "sim-small", null, [], [], new TokenUsage(0, 0), null, conversationId, new Dictionary<string, string>(), null, null, null, "in_progress", null);

    private static async Task<CompletionResult> RunTurn(IConversationGrain conversation, TurnRequest turn)
    {
        CompletionChunk? last = null;
        await foreach (var chunk in conversation.RunTurn(turn))
        {
            last = chunk;
        }

        var final = last?.Final;
        Assert.True(final is not null, last?.Error?.Message);
        return final;
    }
}
