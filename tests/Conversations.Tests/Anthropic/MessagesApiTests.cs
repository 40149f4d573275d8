using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Anthropic;

/// <summary>
/// Anthropic's Messages API through the official Anthropic .NET SDK over real HTTP, routed to the embedded simulated
/// model (<c>sim-small</c>) and to an OpenAI-compatible upstream (<c>remote</c>, the simulated upstream, which records
/// what it received). The simulated models call a tool when told <c>[sim:call=name]</c> and quote tool outputs.
/// </summary>
public sealed class MessagesApiTests : UpstreamGatewayTest
{
    private const string Question = "Weather in Lisbon? [sim:call=get_weather]";

    private static readonly InputSchema Schema = new()
    {
        Properties = new Dictionary<string, JsonElement> { ["input"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
        Required = ["input"],
    };

    private static readonly ToolUnion Weather = new Tool { Name = "get_weather", Description = "The weather in a city.", InputSchema = Schema };

    /// <summary>Configuring "remote" replaces the embedded default's routes, so <c>sim-small</c> is added back.</summary>
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Conversations:Routes:sim-small:Deployments:0:Name"] = "sim-small";
        settings["Conversations:Routes:sim-small:Deployments:0:Provider"] = "Simulated";
    }

    private AnthropicClient Client(string key = GatewayFactory.ApiKey) =>
        new(new global::Anthropic.Core.ClientOptions { BaseUrl = Gateway.BaseAddress.ToString().TrimEnd('/'), ApiKey = key, MaxRetries = 0 });

    [Theory]
    [InlineData("sim-small")]
    [InlineData("remote")]
    public async Task A_tool_round_trip_without_streaming_holds_in_anthropics_shape(string model)
    {
        var client = Client();
        var called = await client.Messages.Create(Params(model, [User(Question)]));

        Assert.Equal(StopReason.ToolUse, called.StopReason?.Value());
        Assert.True(called.Content.Single().TryPickToolUse(out var call));
        Assert.Equal("get_weather", call!.Name);
        Assert.Equal("Weather in Lisbon?", call.Input["input"].GetString());
        Assert.True(called.Usage.InputTokens > 0);
        Assert.StartsWith("msg_", called.ID, StringComparison.Ordinal);

        var answered = await client.Messages.Create(Params(model, WithResult(call)));

        Assert.Equal(StopReason.EndTurn, answered.StopReason?.Value());
        Assert.True(answered.Content.Single().TryPickText(out var text));
        Assert.Contains("22 degrees and sunny", text!.Text, StringComparison.Ordinal);
        Assert.True(answered.Usage.OutputTokens > 0);
        if (model == "remote")
        {
            // Translated at the edge: the OpenAI-compatible upstream got the call and its output in OpenAI's shape.
            var sent = (await Upstream.ReceivedRequests())[^1];
            Assert.Equal("get_weather", sent.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
            var wire = sent.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(["user", "assistant", "tool"], wire.Select(m => m.GetProperty("role").GetString()));
            Assert.Equal(call.ID, wire[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
            Assert.Equal(call.ID, wire[2].GetProperty("tool_call_id").GetString());
        }
    }

    [Theory]
    [InlineData("sim-small")]
    [InlineData("remote")]
    public async Task A_streamed_tool_round_trip_follows_anthropics_event_sequence(string model)
    {
        var client = Client();
        var events = await Collect(client.Messages.CreateStreaming(Params(model, [User(Question)])));

        // The SDK drops ping events; the raw stream's are checked in Raw_stream_events_name_their_payloads_and_include_a_ping.
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(Name));
        Assert.True(events[2].TryPickContentBlockDelta(out var json) && json!.Delta.TryPickInputJson(out _));
        var called = await ToAsync(events).Aggregate();
        Assert.Equal(StopReason.ToolUse, called.StopReason?.Value());
        Assert.True(called.Content.Single().TryPickToolUse(out var call));
        Assert.Equal("Weather in Lisbon?", call!.Input["input"].GetString());

        var answerEvents = await Collect(client.Messages.CreateStreaming(Params(model, WithResult(call))));
        var answered = await ToAsync(answerEvents).Aggregate();

        Assert.Equal(["message_start", "content_block_start"], answerEvents.Take(2).Select(Name));
        Assert.True(answerEvents.Count(e => Name(e) == "content_block_delta") > 1); // the text streams in pieces
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], answerEvents.TakeLast(3).Select(Name));
        Assert.Equal(StopReason.EndTurn, answered.StopReason?.Value());
        Assert.True(answered.Content.Single().TryPickText(out var text));
        Assert.Contains("22 degrees and sunny", text!.Text, StringComparison.Ordinal);
        Assert.True(answered.Usage.InputTokens > 0); // the count arrives with message_delta
    }

    [Fact]
    public async Task Raw_stream_events_name_their_payloads_and_include_a_ping()
    {
        var events = await RawEvents("""{"model":"sim-small","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say something."}]}""");

        Assert.Equal(["message_start", "ping", "content_block_start"], events.Take(3).Select(e => e.Name));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3).Select(e => e.Name));
        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));
        var start = events[0].Data.GetProperty("message");
        Assert.Equal("assistant", start.GetProperty("role").GetString());
        Assert.Equal(0, start.GetProperty("content").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        var delta = events[^2].Data;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.True(delta.GetProperty("usage").GetProperty("output_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task A_stream_cut_after_it_started_ends_with_an_error_event_and_no_message_stop()
    {
        var events = await RawEvents("""{"model":"sim-small","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"[sim:cut=3] Tell me more"}]}""");

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("error", events[^1].Data.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(events[^1].Data.GetProperty("error").GetProperty("type").GetString()));
        Assert.DoesNotContain(events, e => e.Name == "message_stop");
        Assert.Contains(events, e => e.Name == "content_block_delta"); // it had started
    }

    [Fact]
    public async Task An_upstream_failure_before_the_first_token_is_an_api_error_in_anthropics_shape()
    {
        var failure = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Client().Messages.Create(Params("sim-small", [User("hi [sim:status=503]")])));

        Assert.Equal(502, (int)failure.StatusCode); // a bad gateway, as OpenAI clients get it (503 becomes 529: AnthropicErrorsTests)
        AssertAnthropicError(failure.ResponseBody, "api_error");
    }

    [Fact]
    public async Task Refusals_take_anthropics_shape_and_statuses()
    {
        var badKey = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() =>
            Client("sk-not-a-key").Messages.Create(Params("sim-small", [User("hi")])));
        AssertAnthropicError(badKey.ResponseBody, "authentication_error");

        var unknownModel = await Assert.ThrowsAsync<AnthropicNotFoundException>(() =>
            Client().Messages.Create(Params("no-such-model", [User("hi")])));
        AssertAnthropicError(unknownModel.ResponseBody, "not_found_error");

        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        using var noMaxTokens = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json("""{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, noMaxTokens.StatusCode);
        var body = AssertAnthropicError(await noMaxTokens.Content.ReadAsStringAsync(), "invalid_request_error");
        Assert.Contains("max_tokens", body, StringComparison.Ordinal);

        using var image = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json(
            """{"model":"sim-small","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, image.StatusCode);
        Assert.Contains("messages.0.content.0.source.data", AssertAnthropicError(await image.Content.ReadAsStringAsync(), "invalid_request_error"), StringComparison.Ordinal); // not a PNG

        http.DefaultRequestHeaders.Remove("anthropic-version");
        using var noVersion = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json("""{"model":"sim-small","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Contains("anthropic-version", AssertAnthropicError(await noVersion.Content.ReadAsStringAsync(), "invalid_request_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_and_document_blocks_reach_the_model_as_media_parts()
    {
        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var (png, pdf) = (Convert.ToBase64String(Media.MediaFixture.Pixel), Convert.ToBase64String(Media.MediaFixture.Pdf));
        using var response = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json($$$"""
            {"model":"sim-small","max_tokens":200,"messages":[{"role":"user","content":[
              {"type":"text","text":"What is in these?"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"{{{png}}}"}},
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"{{{pdf}}}"},"title":"spec.pdf"}]}]}
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("content")[0].GetProperty("text").GetString();
        Assert.Contains($"Received 2 attachment(s): [image image/png {Media.MediaFixture.Pixel.Length} bytes", text, StringComparison.Ordinal);
        Assert.Contains($"[file application/pdf {Media.MediaFixture.Pdf.Length} bytes]", text, StringComparison.Ordinal);

        using var assistantImage = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json($$$"""
            {"model":"sim-small","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"{{{png}}}"}}]}]}
            """));
        Assert.Contains("messages.0.content.0.type", AssertAnthropicError(await assistantImage.Content.ReadAsStringAsync(), "invalid_request_error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quotas_and_usage_apply_as_for_chat_completions()
    {
        using var admin = Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant(limits: new { requests_per_minute = 1 });
        var (_, secret) = await tenants.CreateKey(tenant, "tenant_admin");
        var client = Client(secret);

        var first = await client.Messages.Create(Params("sim-small", [User("counted")]) with
        {
            Metadata = new Metadata { UserID = "alice" },
        });
        var limited = await Assert.ThrowsAsync<AnthropicRateLimitException>(() =>
            client.Messages.Create(Params("sim-small", [User("over the limit")])));

        AssertAnthropicError(limited.ResponseBody, "rate_limit_error");
        using var http = Gateway.Http(secret);
        var usage = await new TenantClient(http).Get("/v1/usage?group_by=user,model");
        var row = Assert.Single(usage.GetProperty("data").EnumerateArray());
        Assert.Equal("alice", row.GetProperty("user").GetString());
        Assert.Equal(first.Usage.InputTokens, row.GetProperty("input_tokens").GetInt64());
        Assert.Equal(first.Usage.OutputTokens, row.GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Count_tokens_counts_the_system_prompt_messages_and_tools()
    {
        var client = Client();
        var plain = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "sim-small",
            Messages = [User("How warm is it?")],
        });
        var more = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "sim-small",
            System = "You are a terse weather assistant who answers in one line.",
            Messages = [User("How warm is it?")],
            Tools = [new Tool { Name = "get_weather", Description = "The weather in a city.", InputSchema = Schema }],
        });

        Assert.True(plain.InputTokens > 0);
        Assert.True(more.InputTokens > plain.InputTokens + 10, $"{more.InputTokens} vs {plain.InputTokens}");
    }

    [Fact]
    public async Task Stop_sequences_system_and_sampling_reach_the_upstream_and_the_answer_is_in_anthropics_shape()
    {
        // Raw JSON: this SDK version has no temperature parameter, and the wire shape is what this test is about.
        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        using var response = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json("""
            {"model":"remote","max_tokens":64,"system":[{"type":"text","text":"Be brief."}],"stop_sequences":["END"],"temperature":0.5,
             "metadata":{"user_id":"bob"},"messages":[{"role":"user","content":[{"type":"text","text":"marker-stop-sequences"}]}]}
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        string[] fields = ["content", "id", "model", "role", "stop_reason", "stop_sequence", "type", "usage"];
        Assert.Equal(fields, message.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("remote", message.GetProperty("model").GetString());
        Assert.Equal("end_turn", message.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_sequence").ValueKind);
        Assert.Equal("text", message.GetProperty("content")[0].GetProperty("type").GetString());
        Assert.True(message.GetProperty("usage").GetProperty("input_tokens").GetInt32() > 0);

        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("marker-stop-sequences", StringComparison.Ordinal));
        Assert.Equal("END", sent.GetProperty("stop")[0].GetString());
        Assert.Equal(0.5, sent.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(64, sent.TryGetProperty("max_completion_tokens", out var max) ? max.GetInt32() : sent.GetProperty("max_tokens").GetInt32());
        var first = sent.GetProperty("messages")[0];
        Assert.Equal("system", first.GetProperty("role").GetString());
        Assert.Equal("Be brief.", first.GetProperty("content").GetString());
    }

    private async Task<List<(string Name, JsonElement Data)>> RawEvents(string body)
    {
        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        using var response = await http.PostAsync("/v1/messages", ChatCompletionsTests.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<(string, JsonElement)>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add((item.EventType, JsonDocument.Parse(item.Data).RootElement.Clone()));
        }

        return events;
    }

    private static MessageCreateParams Params(string model, IReadOnlyList<MessageParam> messages) => new()
    {
        Model = model,
        MaxTokens = 256,
        Messages = messages,
        Tools = [Weather],
    };

    private static MessageParam User(string text) => new UserMessageParam(text);

    private static List<MessageParam> WithResult(ToolUseBlock call) =>
    [
        User(Question),
        new AssistantMessageParam(new List<ContentBlockParam> { new ToolUseBlockParam { ID = call.ID, Name = call.Name, Input = call.Input } }),
        new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam { ToolUseID = call.ID, Content = "22 degrees and sunny" } }),
    ];

    private static async Task<List<RawMessageStreamEvent>> Collect(IAsyncEnumerable<RawMessageStreamEvent> events)
    {
        var list = new List<RawMessageStreamEvent>();
        await foreach (var item in events)
        {
            list.Add(item);
        }

        return list;
    }

    private static async IAsyncEnumerable<RawMessageStreamEvent> ToAsync(List<RawMessageStreamEvent> events)
    {
        foreach (var item in events)
        {
            yield return item;
        }

        await Task.CompletedTask;
    }

    private static string Name(RawMessageStreamEvent e) => JsonSerializer.SerializeToElement(e).GetProperty("type").GetString()!;

    private static string AssertAnthropicError(string body, string type)
    {
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal(type, json.GetProperty("error").GetProperty("type").GetString());
        return json.GetProperty("error").GetProperty("message").GetString()!;
    }
}
