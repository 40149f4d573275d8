using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api.OpenApi;

/// <summary>
/// Every answer of an endpoint this gateway shares with OpenAI, validated against the schema OpenAI's published
/// OpenAPI document gives it: non-streamed bodies, every streamed chunk and event type, and errors. Clients generated
/// from that document reject an answer that leaves out a property it requires.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenApiConformanceTests(GatewayFixture fixture)
{
    private const string Weather = """[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]""";
    private const string ChatWeather = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";

    private static OpenAIDocument Document => OpenAIDocument.Instance;

    [Fact]
    public async Task Chat_completions_match_the_documented_schemas_streamed_or_not()
    {
        using var http = fixture.Gateway.Http();
        var text = await http.PostJson("/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"Hello"}]}""");
        var call = await http.PostJson("/v1/chat/completions", $$"""{"model":"sim-small","messages":[{"role":"user","content":"Weather? [sim:call=get_weather]"}],"tools":{{ChatWeather}}}""");
        var chunks = await Stream(http, "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"Hello"}],"stream":true,"stream_options":{"include_usage":true}}""");
        var callChunks = await Stream(http, "/v1/chat/completions", $$"""{"model":"sim-small","messages":[{"role":"user","content":"Weather? [sim:call=get_weather]"}],"tools":{{ChatWeather}},"stream":true}""");
        var logprobs = await http.PostJson("/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"Hello"}],"logprobs":true,"top_logprobs":2}""");
        var logprobChunks = await Stream(http, "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"Hello"}],"logprobs":true,"stream":true}""");

        AssertValid(Document.AnswerSchema("post", "/chat/completions"), text, call, logprobs);
        Assert.True(chunks.Count > 2);
        AssertValid(Document.AnswerSchema("post", "/chat/completions", "text/event-stream"), [.. chunks, .. callChunks, .. logprobChunks]);
        Assert.NotEmpty(logprobs.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray());
        Assert.Contains(logprobChunks, c => c.GetProperty("choices").EnumerateArray().Any(choice => choice.TryGetProperty("logprobs", out var l) && l.ValueKind == JsonValueKind.Object));
        Assert.Equal(JsonValueKind.Null, chunks[0].GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
    }

    [Fact]
    public async Task Responses_and_every_streamed_event_type_match_the_documented_schemas()
    {
        using var http = fixture.Gateway.Http();
        var plain = await http.PostJson("/v1/responses", """{"model":"sim-small","input":"Hello","instructions":"Be brief.","metadata":{"k":"v"}}""");
        var call = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","input":"Weather? [sim:call=get_weather]","tools":{{Weather}}}""");
        var incomplete = await http.PostJson("/v1/responses", """{"model":"sim-small","input":"Tell me a long story [sim:tokens=200]","max_output_tokens":16}""");
        var id = plain.GetProperty("id").GetString();
        var fetched = await http.GetJson($"/v1/responses/{id}");
        var inputItems = await http.GetJson($"/v1/responses/{id}/input_items");
        var events = await Stream(http, "/v1/responses", """{"model":"sim-small","input":"Hello","stream":true,"include":["message.output_text.logprobs"],"top_logprobs":1}""");
        var logprobs = await http.PostJson("/v1/responses", """{"model":"sim-small","input":"Hello","include":["message.output_text.logprobs"],"top_logprobs":1}""");
        var callEvents = await Stream(http, "/v1/responses", $$"""{"model":"sim-small","input":"Weather? [sim:call=get_weather]","tools":{{Weather}},"stream":true}""");
        var failedEvents = await Stream(http, "/v1/responses", $$"""{"model":"{{await FailingRoutes.Create(http)}}","input":"Hello [sim:cut=3]","stream":true}""");
        var counted = await http.PostJson("/v1/responses/input_tokens", """{"model":"sim-small","input":"Hello","instructions":"Be brief."}""");
        var queued = await http.PostJson("/v1/responses", """{"model":"sim-small","input":"Hello [sim:hang]","background":true}""");
        var compacted = await http.PostJson("/v1/responses/compact", """{"model":"sim-small","input":[{"role":"user","content":"My name is Ada."}]}""");
        var cancelled = await http.PostJson($"/v1/responses/{queued.GetProperty("id").GetString()}/cancel", "{}");
        var compactInLine = $$"""{"model":"sim-small","input":"{{string.Concat(Enumerable.Repeat("My name is Ada and I live in Lisbon. ", 150))}}","context_management":[{"type":"compaction","compact_threshold":1000}]""";
        var inLine = await http.PostJson("/v1/responses", compactInLine + "}");
        var inLineEvents = await Stream(http, "/v1/responses", compactInLine + ",\"stream\":true}");

        AssertValid(Document.AnswerSchema("post", "/responses"), plain, call, incomplete, inLine, logprobs);
        Assert.NotEmpty(logprobs.GetProperty("output")[0].GetProperty("content")[0].GetProperty("logprobs").EnumerateArray());
        Assert.Equal("compaction", inLine.GetProperty("output")[0].GetProperty("type").GetString());
        AssertValid(Document.AnswerSchema("get", "/responses/{response_id}"), fetched);
        AssertValid(Document.AnswerSchema("get", "/responses/{response_id}/input_items"), inputItems);
        AssertValid(Document.AnswerSchema("post", "/responses/input_tokens"), counted);
        AssertValid(Document.AnswerSchema("post", "/responses"), queued);
        AssertValid(Document.AnswerSchema("post", "/responses/compact"), compacted);
        AssertValid(Document.AnswerSchema("post", "/responses/{response_id}/cancel"), cancelled);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("incomplete", incomplete.GetProperty("status").GetString());
        var all = (List<JsonElement>)[.. events, .. callEvents, .. failedEvents, .. inLineEvents];
        foreach (var streamed in all)
        {
            AssertValid(Document.EventSchema(streamed.GetProperty("type").GetString()!), streamed);
        }

        AssertValid(Document.AnswerSchema("post", "/responses", "text/event-stream"), [.. all]);
        Assert.Contains(all, e => e.GetProperty("type").GetString() == "response.failed");
        Assert.Contains(all, e => e.GetProperty("type").GetString() == "response.function_call_arguments.done");
    }

    [Fact]
    public async Task Conversations_and_their_items_match_the_documented_schemas()
    {
        using var http = fixture.Gateway.Http();
        var created = await http.PostJson("/v1/conversations", """{"metadata":{"topic":"schemas"},"items":[{"type":"message","role":"user","content":"Hi"}]}""");
        var id = created.GetProperty("id").GetString();
        var turn = await http.PostJson("/v1/responses", $$"""{"model":"sim-small","conversation":"{{id}}","input":"Hello"}""");
        var fetched = await http.GetJson($"/v1/conversations/{id}");
        var updated = await http.PostJson($"/v1/conversations/{id}", """{"metadata":{"topic":"updated"}}""");
        var added = await http.PostJson($"/v1/conversations/{id}/items", """{"items":[{"type":"message","role":"user","content":"More"}]}""");
        var items = await http.GetJson($"/v1/conversations/{id}/items?order=asc");
        var itemId = items.GetProperty("data")[0].GetProperty("id").GetString();
        var item = await http.GetJson($"/v1/conversations/{id}/items/{itemId}");
        var afterItemDelete = await Send(http, HttpMethod.Delete, $"/v1/conversations/{id}/items/{itemId}");
        var deleted = await Send(http, HttpMethod.Delete, $"/v1/conversations/{id}");

        AssertValid(Document.AnswerSchema("post", "/conversations"), created);
        AssertValid(Document.AnswerSchema("post", "/responses"), turn);
        AssertValid(Document.AnswerSchema("get", "/conversations/{conversation_id}"), fetched);
        AssertValid(Document.AnswerSchema("post", "/conversations/{conversation_id}"), updated);
        AssertValid(Document.AnswerSchema("post", "/conversations/{conversation_id}/items"), added);
        AssertValid(Document.AnswerSchema("get", "/conversations/{conversation_id}/items"), items);
        AssertValid(Document.AnswerSchema("get", "/conversations/{conversation_id}/items/{item_id}"), item);
        AssertValid(Document.AnswerSchema("delete", "/conversations/{conversation_id}/items/{item_id}"), afterItemDelete);
        AssertValid(Document.AnswerSchema("delete", "/conversations/{conversation_id}"), deleted);
    }

    [Fact]
    public async Task Models_embeddings_and_errors_match_the_documented_schemas()
    {
        using var http = fixture.Gateway.Http();
        var models = await http.GetJson("/v1/models");
        var model = await http.GetJson("/v1/models/sim-small");
        var embeddings = await http.PostJson("/v1/embeddings", """{"model":"local-embeddings","input":["one","two"]}""");
        var errors = new List<JsonElement>();
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
                 {
                     (HttpMethod.Post, "/v1/responses", """{"model":"sim-small"}"""),
                     (HttpMethod.Post, "/v1/chat/completions", """{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}"""),
                     (HttpMethod.Get, "/v1/responses/resp_missing", null),
                     (HttpMethod.Get, "/v1/conversations/conv_missing", null),
                     (HttpMethod.Get, "/v1/no-such-endpoint", null),
                 })
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request);
            Assert.False(response.IsSuccessStatusCode);
            errors.Add(JsonElement.Parse(await response.Content.ReadAsStringAsync()));
        }

        AssertValid(Document.AnswerSchema("get", "/models"), models);
        AssertValid(Document.AnswerSchema("get", "/models/{model}"), model);
        AssertValid(Document.AnswerSchema("post", "/embeddings"), embeddings);
        AssertValid("ErrorResponse", [.. errors]);
    }

    private static void AssertValid(string schema, params JsonElement[] bodies)
    {
        var problems = bodies.SelectMany(body => Document.Check(schema, body).Select(p => $"{p}\n    in {Excerpt(body)}")).ToList();
        Assert.True(problems.Count == 0, $"Not a valid {schema}:\n" + string.Join('\n', problems));
    }

    private static string Excerpt(JsonElement body)
    {
        var text = body.GetRawText();
        return text.Length <= 600 ? text : text[..600] + "…";
    }

    private static async Task<JsonElement> Send(HttpClient http, HttpMethod method, string path)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(method, path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonElement.Parse(text);
    }

    /// <summary>The JSON data of every SSE event of a streamed answer (chat's closing <c>[DONE]</c> left out).</summary>
    private static async Task<List<JsonElement>> Stream(HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var events = new List<JsonElement>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            if (item.Data != "[DONE]")
            {
                events.Add(JsonElement.Parse(item.Data));
            }
        }

        return events;
    }
}
