using System.Net;
using Conversations.Tests.Api;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

[Collection(GatewayCollection.Name)]
public sealed class ConcurrentWritersTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Clients_writing_to_one_conversation_at_once_keep_its_history_linear_and_complete()
    {
        using var turns = fixture.Gateway.Http();
        using var adds = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(turns);
        var writer = new HttpConversation(adds, conversation.Id);

        var turnTasks = Enumerable.Range(0, 8).Select(i => conversation.TurnAsync($"turn {i}"));
        var addTasks = Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await adds.PostAsync($"/v1/conversations/{conversation.Id}/items",
                ChatCompletionsTests.Json($$"""{"items":[{"role":"user","content":"note {{i}}"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });
        await Task.WhenAll(turnTasks.Cast<Task>().Concat(addTasks));

        var items = await writer.ItemsAsync();
        Assert.Equal(8 * 2 + 8, items.Count);
        Assert.Equal(8, items.Count(i => i.Text.StartsWith("note ", StringComparison.Ordinal)));
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Text.StartsWith("turn ", StringComparison.Ordinal))
            {
                // A turn's input and output are appended together: nothing lands between them.
                Assert.Equal("assistant", items[i + 1].Role);
                Assert.EndsWith(items[i].Text, items[i + 1].Text, StringComparison.Ordinal);
            }
        }
    }
}
