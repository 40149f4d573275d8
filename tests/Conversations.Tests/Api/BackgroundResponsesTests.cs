using System.ClientModel;
using System.Net;
using Conversations.Tests.Infrastructure;
using OpenAI.Responses;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>background: true</c> over real HTTP through the official OpenAI .NET SDK: the response is queued at once, run by its
/// grain, polled with <c>GET /v1/responses/{id}</c> and cancelled with <c>POST /v1/responses/{id}/cancel</c>.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class BackgroundResponsesTests(GatewayFixture fixture)
{
    private ResponsesClient Responses => fixture.Gateway.OpenAI().GetResponsesClient();

    [Fact]
    public async Task A_background_response_is_queued_at_once_and_polled_until_it_completes()
    {
        ResponseResult queued = await Responses.CreateResponseAsync(
            new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem("Hello in the background")]) { BackgroundModeEnabled = true });

        var done = await Finished(queued.Id);

        Assert.Equal(ResponseStatus.Queued, queued.Status);
        Assert.True(queued.BackgroundModeEnabled);
        Assert.Empty(queued.OutputItems);
        Assert.Equal(ResponseStatus.Completed, done.Status);
        Assert.True(done.BackgroundModeEnabled);
        Assert.Contains("1 messages", done.GetOutputText(), StringComparison.Ordinal);
        Assert.True(done.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task A_background_turn_is_appended_to_its_conversation_once_and_the_next_turn_sees_it()
    {
        using var http = fixture.Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();

        var queued = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"My name is Ada.","background":true}""");
        var done = await Finished(queued.GetProperty("id").GetString()!);
        var next = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"What is my name?"}""");
        var items = (await http.GetJson($"/v1/conversations/{conversation}/items?order=asc")).GetProperty("data");

        Assert.Equal("queued", queued.GetProperty("status").GetString());
        Assert.Equal(ResponseStatus.Completed, done.Status);
        Assert.Equal(4, items.GetArrayLength());
        Assert.Equal(done.OutputItems[0].Id, items[1].GetProperty("id").GetString());
        Assert.Contains("turn 2, 3 messages", next.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_background_turn_is_cancelled_appends_nothing_and_stays_cancelled()
    {
        using var http = fixture.Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();
        var queued = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"Wait for me [sim:hang]","background":true}""");
        var id = queued.GetProperty("id").GetString()!;
        await Eventually.Get(async () => (await Responses.GetResponseAsync(id)).Value is { Status: ResponseStatus.InProgress } running ? running : null);

        ResponseResult cancelled = await Responses.CancelResponseAsync(id);
        ResponseResult again = await Responses.CancelResponseAsync(id);
        ResponseResult fetched = await Responses.GetResponseAsync(id);
        var items = (await http.GetJson($"/v1/conversations/{conversation}/items")).GetProperty("data");
        var after = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"Still there?"}""");

        Assert.Equal(ResponseStatus.Cancelled, cancelled.Status);
        Assert.Equal(ResponseStatus.Cancelled, again.Status);
        Assert.Equal(ResponseStatus.Cancelled, fetched.Status);
        Assert.Equal(0, items.GetArrayLength());
        Assert.Equal("completed", after.GetProperty("status").GetString()); // the conversation is not left waiting behind it
    }

    [Fact]
    public async Task A_finished_background_response_is_answered_as_it_is_when_cancelled()
    {
        ResponseResult queued = await Responses.CreateResponseAsync(
            new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem("Quick one")]) { BackgroundModeEnabled = true });
        var done = await Finished(queued.Id);

        ResponseResult cancelled = await Responses.CancelResponseAsync(queued.Id);

        Assert.Equal(ResponseStatus.Completed, done.Status);
        Assert.Equal(ResponseStatus.Completed, cancelled.Status);
        Assert.Equal(done.GetOutputText(), cancelled.GetOutputText());
    }

    [Fact]
    public async Task Only_background_responses_can_be_cancelled_and_bad_combinations_are_refused()
    {
        using var http = fixture.Gateway.Http();
        ResponseResult synchronous = await Responses.CreateResponseAsync("sim-small", "Right now", previousResponseId: null);

        var notBackground = await Assert.ThrowsAsync<ClientResultException>(() => Responses.CancelResponseAsync(synchronous.Id));
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => Responses.CancelResponseAsync("resp_missing"));
        using var unstored = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"sim-small","input":"hi","background":true,"store":false}"""));
        using var unknownModel = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"no-such-model","input":"hi","background":true}"""));

        Assert.Equal(400, notBackground.Status);
        Assert.Equal(404, missing.Status);
        await unstored.AssertOpenAIError(HttpStatusCode.BadRequest, "store");
        await unknownModel.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_background_response_streams_its_events_and_resumes_after_a_sequence_number()
    {
        using var http = fixture.Gateway.Http();
        var id = (await http.PostJson("/v1/responses", """{"model":"sim-small","input":"Stream me later [sim:delay=500]","background":true}""")).GetProperty("id").GetString();

        var whole = await Events(http, $"/v1/responses/{id}?stream=true");
        var resumed = await Events(http, $"/v1/responses/{id}?stream=true&starting_after=3");
        var again = await Events(http, $"/v1/responses/{id}?stream=true");
        using var bad = await http.GetAsync($"/v1/responses/{id}?stream=true&starting_after=x");

        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.done",
             "response.content_part.done", "response.output_item.done", "response.completed"],
            whole.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, whole.Count), whole.Select(e => e.GetProperty("sequence_number").GetInt32()));
        Assert.Equal("completed", whole[^1].GetProperty("response").GetProperty("status").GetString());
        Assert.Equal(whole.Skip(4).Select(e => e.GetRawText()), resumed.Select(e => e.GetRawText()));
        Assert.Equal(whole.Select(e => e.GetRawText()), again.Select(e => e.GetRawText())); // read while running and after: the same events
        await bad.AssertOpenAIError(HttpStatusCode.BadRequest, "starting_after");
    }

    [Fact]
    public async Task A_background_response_created_with_stream_streams_its_events_through_the_official_sdk()
    {
        var options = new CreateResponseOptions("sim-small", [ResponseItem.CreateUserMessageItem("Stream me now")])
        {
            BackgroundModeEnabled = true,
            StreamingEnabled = true,
        };

        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in await Responses.CreateResponseStreamingAsync(options))
        {
            updates.Add(update);
        }

        var created = Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        ResponseResult stored = await Responses.GetResponseAsync(created.Response.Id);
        Assert.Equal(ResponseStatus.Queued, created.Response.Status);
        Assert.True(created.Response.BackgroundModeEnabled);
        Assert.Contains(updates, u => u is StreamingResponseOutputTextDoneUpdate);
        Assert.Equal(Enumerable.Range(0, updates.Count), updates.Select(u => u.SequenceNumber));
        Assert.Equal(ResponseStatus.Completed, completed.Response.Status);
        Assert.Contains("1 messages", completed.Response.GetOutputText(), StringComparison.Ordinal);
        Assert.Equal(completed.Response.GetOutputText(), stored.GetOutputText());
    }

    [Fact]
    public async Task A_client_that_leaves_a_streamed_background_response_resumes_it_after_the_last_event_it_read()
    {
        using var http = fixture.Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();
        var body = $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"Keep going without me [sim:delay=300]","background":true,"stream":true}""";

        var read = new List<System.Text.Json.JsonElement>();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonHttp.Body(body) })
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            {
                read.Add(System.Text.Json.JsonElement.Parse(item.Data));
                break; // the client goes away after response.created
            }
        }

        var id = read[0].GetProperty("response").GetProperty("id").GetString()!;
        var last = read[^1].GetProperty("sequence_number").GetInt32();
        var rest = await Events(http, $"/v1/responses/{id}?stream=true&starting_after={last}");
        var whole = await Events(http, $"/v1/responses/{id}?stream=true");
        var items = (await http.GetJson($"/v1/conversations/{conversation}/items")).GetProperty("data");

        Assert.Equal("response.created", read[0].GetProperty("type").GetString());
        Assert.Equal(whole.Select(e => e.GetRawText()), read.Concat(rest).Select(e => e.GetRawText()));
        Assert.Equal("response.completed", rest[^1].GetProperty("type").GetString());
        Assert.Equal(2, items.GetArrayLength()); // the turn ran once, though its first stream was left
    }

    [Fact]
    public async Task A_retried_background_create_with_an_idempotency_key_answers_the_same_response_and_runs_once()
    {
        using var http = fixture.Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();
        var body = $$"""{"model":"sim-small","conversation":"{{conversation}}","input":"Run me once","background":true}""";
        var key = $"bg-{Guid.NewGuid():N}";

        var first = await Create(http, body, key);
        var retried = await Create(http, body, key);
        var done = await Finished(first.GetProperty("id").GetString()!);
        var afterwards = await Create(http, body, key);
        using var otherBody = await Send(http, body.Replace("Run me once", "Something else", StringComparison.Ordinal), key);
        var items = (await http.GetJson($"/v1/conversations/{conversation}/items?order=asc")).GetProperty("data");

        Assert.Equal(first.GetProperty("id").GetString(), retried.GetProperty("id").GetString());
        Assert.Equal(done.Id, afterwards.GetProperty("id").GetString());
        Assert.Equal("completed", afterwards.GetProperty("status").GetString());
        Assert.Equal(2, items.GetArrayLength()); // one run: one input and one answer
        await otherBody.AssertOpenAIError(HttpStatusCode.UnprocessableEntity, "Idempotency-Key");
    }

    private static async Task<System.Text.Json.JsonElement> Create(HttpClient http, string body, string key)
    {
        using var response = await Send(http, body, key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return System.Text.Json.JsonElement.Parse(await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> Send(HttpClient http, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonHttp.Body(body) };
        request.Headers.Add("Idempotency-Key", key);
        return await http.SendAsync(request);
    }

    private static async Task<List<System.Text.Json.JsonElement>> Events(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
        var events = new List<System.Text.Json.JsonElement>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add(System.Text.Json.JsonElement.Parse(item.Data));
        }

        return events;
    }

    /// <summary>Polls the response, as a client of background mode does, until it leaves <c>queued</c> and <c>in_progress</c>.</summary>
    private async Task<ResponseResult> Finished(string id) =>
        await Eventually.Get(async () => (await Responses.GetResponseAsync(id)).Value is { Status: not (ResponseStatus.Queued or ResponseStatus.InProgress) } done ? done : null);
}
