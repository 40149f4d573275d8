using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using OpenAI.Conversations;
using OpenAI.Responses;

namespace Conversations.Tests.Api;

/// <summary>The Conversations and Responses APIs through the official OpenAI .NET SDK.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ResponsesAndConversationsTests(GatewayFixture fixture)
{
    private ResponsesClient Responses => fixture.Gateway.OpenAI().GetResponsesClient();

    private ConversationClient ConversationsClient => fixture.Gateway.OpenAI().GetConversationClient();

    [Fact]
    public async Task Conversation_is_created_with_metadata_and_initial_items()
    {
        var options = new ConversationCreationOptions { Items = { ResponseItem.CreateUserMessageItem("My name is Ada.") } };
        options.Metadata["topic"] = "names";

        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(options);

        Assert.StartsWith("conv_", conversation.Id, StringComparison.Ordinal);
        Assert.Equal("names", conversation.Metadata["topic"]);
        var items = await ListItems(conversation.Id, "asc");
        Assert.Equal(["My name is Ada."], items.Select(i => i.Text));
    }

    [Fact]
    public async Task Two_turns_through_a_conversation_keep_the_context_on_the_server()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());

        var first = await Turn(conversation.Id, "My name is Ada.");
        var second = await Turn(conversation.Id, "What is my name?");

        Assert.Contains("turn 1, 1 messages", first.GetOutputText(), StringComparison.Ordinal);
        // The client sent only the new message; the server supplied the first turn's input and output.
        Assert.Contains("turn 2, 3 messages", second.GetOutputText(), StringComparison.Ordinal);
        Assert.Equal(conversation.Id, second.ConversationOptions?.ConversationId);
        var items = await ListItems(conversation.Id, "asc");
        Assert.Equal(
            [("user", "My name is Ada."), ("assistant", first.GetOutputText()), ("user", "What is my name?"), ("assistant", second.GetOutputText())],
            items.Select(i => (i.Role, i.Text)));
        Assert.Equal(second.OutputItems[0].Id, items[^1].Id);
    }

    [Fact]
    public async Task Items_list_in_either_order_and_pages_with_after()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions
        {
            Items = { ResponseItem.CreateUserMessageItem("one"), ResponseItem.CreateUserMessageItem("two"), ResponseItem.CreateUserMessageItem("three") },
        });
        using var http = fixture.Gateway.Http();

        var newestFirst = await ListItems(conversation.Id, "desc");
        var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation.Id}/items?order=asc&limit=1&after={newestFirst[^1].Id}")).RootElement;

        Assert.Equal(["three", "two", "one"], newestFirst.Select(i => i.Text));
        Assert.Equal("two", page.GetProperty("data")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task Previous_response_id_chains_context_and_stored_responses_can_be_read_and_deleted()
    {
        ResponseResult first = await Responses.CreateResponseAsync("sim-small", "My name is Ada.", previousResponseId: null);
        ResponseResult second = await Responses.CreateResponseAsync("sim-small", "What is my name?", previousResponseId: first.Id);

        Assert.Contains("turn 2, 3 messages", second.GetOutputText(), StringComparison.Ordinal);
        Assert.Equal(first.Id, second.PreviousResponseId);
        ResponseResult fetched = await Responses.GetResponseAsync(second.Id);
        Assert.Equal(second.GetOutputText(), fetched.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, fetched.Status);

        var inputItems = new List<ResponseItem>();
        await foreach (var item in Responses.GetResponseInputItemsAsync(new ResponseItemCollectionOptions(second.Id)))
        {
            inputItems.Add(item);
        }

        var input = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(inputItems));
        Assert.Equal("What is my name?", input.Content[0].Text);

        ResponseDeletionResult deleted = await Responses.DeleteResponseAsync(second.Id);
        Assert.True(deleted.Deleted);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => Responses.GetResponseAsync(second.Id));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Streaming_response_sends_the_event_sequence_and_stores_the_turn()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());
        var options = new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem("stream to me")])
        {
            ConversationOptions = new ResponseConversationOptions(conversation.Id),
            StreamingEnabled = true,
        };

        var kinds = new List<string>();
        var deltas = new StringBuilder();
        ResponseResult? completed = null;
        await foreach (var update in await Responses.CreateResponseStreamingAsync(options))
        {
            kinds.Add(update.GetType().Name);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    deltas.Append(delta.Delta);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }

        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseCompletedUpdate), kinds[^1]);
        Assert.Contains(nameof(StreamingResponseOutputTextDoneUpdate), kinds);
        Assert.NotNull(completed);
        Assert.Equal(deltas.ToString(), completed.GetOutputText());
        Assert.True(completed.Usage.OutputTokenCount > 0);
        var items = await ListItems(conversation.Id, "asc");
        Assert.Equal(["stream to me", deltas.ToString()], items.Select(i => i.Text));
    }

    [Fact]
    public async Task Streaming_response_cut_mid_way_fails_visibly_and_leaves_the_conversation_unchanged()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());
        using var http = fixture.Gateway.Http();
        var model = await FailingRoutes.Create(http);

        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$"""{"model":"{{model}}","conversation":"{{conversation.Id}}","stream":true,"input":"[sim:cut=3] go"}"""));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("event: response.output_text.delta", body, StringComparison.Ordinal);
        Assert.Contains("event: response.failed", body, StringComparison.Ordinal);
        Assert.DoesNotContain("response.completed", body, StringComparison.Ordinal);
        Assert.Empty(await ListItems(conversation.Id, "asc"));
    }

    [Fact]
    public async Task Instructions_lead_the_context_but_are_not_stored_as_items()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());

        ResponseResult result = await Responses.CreateResponseAsync(new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem("hi")])
        {
            Instructions = "Be brief.",
            ConversationOptions = new ResponseConversationOptions(conversation.Id),
        });

        Assert.Contains("2 messages in context", result.GetOutputText(), StringComparison.Ordinal);
        Assert.Equal(2, (await ListItems(conversation.Id, "asc")).Count);
    }

    [Fact]
    public async Task Conversation_metadata_updates_and_deletion()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());
        var update = new ConversationUpdateOptions();
        update.Metadata["stage"] = "two";

        ConversationResource updated = await ConversationsClient.UpdateConversationAsync(conversation.Id, update);
        ConversationDeletionResult deleted = await ConversationsClient.DeleteConversationAsync(conversation.Id);

        Assert.Equal("two", updated.Metadata["stage"]);
        Assert.True(deleted.Deleted);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => ConversationsClient.GetConversationAsync(conversation.Id));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Items_are_added_fetched_and_deleted_one_by_one()
    {
        ConversationResource conversation = await ConversationsClient.CreateConversationAsync(new ConversationCreationOptions());
        using var http = fixture.Gateway.Http();

        using var added = await http.PostAsync($"/v1/conversations/{conversation.Id}/items",
            ChatCompletionsTests.Json("""{"items":[{"type":"message","role":"user","content":[{"type":"input_text","text":"added"}]}]}"""));
        var itemId = JsonDocument.Parse(await added.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("id").GetString();
        var fetched = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation.Id}/items/{itemId}")).RootElement;
        using var deleted = await http.DeleteAsync($"/v1/conversations/{conversation.Id}/items/{itemId}");
        using var fetchedAgain = await http.GetAsync($"/v1/conversations/{conversation.Id}/items/{itemId}");

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal("added", fetched.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("conversation", JsonDocument.Parse(await deleted.Content.ReadAsStringAsync()).RootElement.GetProperty("object").GetString());
        await fetchedAgain.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_answer_cut_at_max_output_tokens_is_incomplete_and_says_why()
    {
        using var http = fixture.Gateway.Http();
        const string body = """{"model":"sim-small","input":"[sim:tokens=50] go on","max_output_tokens":5}""";

        using var plain = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(body));
        var response = JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement;
        var stored = JsonDocument.Parse(await http.GetStringAsync($"/v1/responses/{response.GetProperty("id").GetString()}")).RootElement;
        using var streamed = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(body.Replace("{", "{\"stream\":true,", StringComparison.Ordinal)));
        var last = (await streamed.Content.ReadAsStringAsync()).Split('\n').Last(line => line.StartsWith("data: ", StringComparison.Ordinal));

        Assert.Equal("incomplete", response.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", response.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(5, response.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal("incomplete", stored.GetProperty("status").GetString());
        Assert.Equal("response.incomplete", JsonDocument.Parse(last["data: ".Length..]).RootElement.GetProperty("type").GetString());
    }

    private async Task<ResponseResult> Turn(string conversationId, string text) =>
        await Responses.CreateResponseAsync(new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem(text)])
        {
            ConversationOptions = new ResponseConversationOptions(conversationId),
        });

    private async Task<List<(string Id, string Role, string Text)>> ListItems(string conversationId, string order)
    {
        using var http = fixture.Gateway.Http();
        var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversationId}/items?order={order}&limit=100")).RootElement;
        return [.. page.GetProperty("data").EnumerateArray().Select(item => (
            item.GetProperty("id").GetString()!,
            item.GetProperty("role").GetString()!,
            item.GetProperty("content")[0].GetProperty("text").GetString()!))];
    }
}
