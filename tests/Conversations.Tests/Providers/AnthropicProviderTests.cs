using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Providers;
using Conversations.Providers.Anthropic;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace Conversations.Tests.Providers;

/// <summary>
/// The Anthropic provider over real HTTP, against the simulated upstream's Messages API (Anthropic is
/// unreachable from this machine; the upstream speaks its documented wire format). What the upstream
/// cannot be made to send (cache usage, an error event inside a 200 stream) is fed from canned bodies.
/// </summary>
public sealed class AnthropicProviderTests : IAsyncLifetime
{
    private const string Model = "claude-sim";
    private const int DefaultMaxTokens = 256;

    private readonly HttpClient _http = new();
    private UpstreamServer _upstream = null!;

    public async ValueTask InitializeAsync() => _upstream = await UpstreamServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task The_request_carries_a_top_level_system_prompt_alternating_turns_and_max_tokens()
    {
        ChatMessage[] history =
        [
            new(ChatRole.System, "be brief"),
            new(ChatRole.User, "first"),
            new(ChatRole.User, "second"),
            new(ChatRole.Assistant, "noted"),
            new(ChatRole.System, "be exact"),
            new(ChatRole.User, "third"),
        ];

        var response = await Client().GetResponseAsync(history, new ChatOptions { Temperature = 0.5f, TopP = 0.25f });

        var sent = (await _upstream.ReceivedRequests())[^1];
        Assert.Equal(Model, sent.GetProperty("model").GetString());
        Assert.Equal(DefaultMaxTokens, sent.GetProperty("max_tokens").GetInt32());
        Assert.Equal("be brief\n\nbe exact", sent.GetProperty("system").GetString());
        Assert.Equal(
            [("user", "first\n\nsecond"), ("assistant", "noted"), ("user", "third")],
            sent.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString())));
        Assert.Equal(0.5, sent.GetProperty("temperature").GetDouble());
        Assert.Equal(0.25, sent.GetProperty("top_p").GetDouble());
        Assert.False(sent.GetProperty("stream").GetBoolean());
        // The upstream saw two user turns and four messages (the system prompt and three turns).
        Assert.Contains("(turn 2, 4 messages in context). You said: third", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_system_messages_no_system_field_is_sent_and_max_output_tokens_wins()
    {
        var response = await Client().GetResponseAsync([new(ChatRole.User, "count to ten")], new ChatOptions { MaxOutputTokens = 3 });

        var sent = (await _upstream.ReceivedRequests())[^1];
        Assert.False(sent.TryGetProperty("system", out _));
        Assert.False(sent.TryGetProperty("temperature", out _));
        Assert.Equal(3, sent.GetProperty("max_tokens").GetInt32());
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(3, response.Usage?.OutputTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wrong_key_is_refused_with_401_and_is_not_repeated_in_the_error(bool stream)
    {
        const string wrongKey = "sk-ant-wrong-9876543210";

        var refused = await Assert.ThrowsAsync<ProviderException>(() => Call(Client(key: wrongKey), "hello", stream));

        Assert.Equal(401, refused.Status);
        Assert.Equal("invalid x-api-key", refused.Message);
        Assert.DoesNotContain(wrongKey, refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reply_translates_text_stop_reason_ids_and_the_upstream_usage()
    {
        var response = await Client().GetResponseAsync([new(ChatRole.System, "be kind"), new(ChatRole.User, "hello there")]);

        Assert.Equal($"Simulated reply from {Model} (turn 1, 2 messages in context). You said: hello there", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.StartsWith("msg_", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(Model, response.ModelId);
        // The simulated upstream counts with the o200k tokenizer; these are its numbers, not the client's.
        var input = TokenCounter.Shared.CountPrompt(["be kind", "hello there"]);
        var output = TokenCounter.Shared.Count(response.Text);
        Assert.Equal(input, response.Usage?.InputTokenCount);
        Assert.Equal(output, response.Usage?.OutputTokenCount);
        Assert.Equal(input + output, response.Usage?.TotalTokenCount);
    }

    [Fact]
    public async Task A_stream_concatenates_to_the_same_reply_and_ends_with_the_finish_reason_and_usage()
    {
        ChatMessage[] history = [new(ChatRole.System, "be kind"), new(ChatRole.User, "stream this")];
        var whole = await Client().GetResponseAsync(history);

        var updates = await Collect(Client().GetStreamingResponseAsync(history));

        Assert.True((await _upstream.ReceivedRequests())[^1].GetProperty("stream").GetBoolean());
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "The reply should arrive in several deltas.");
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var final = Assert.Single(updates, u => u.FinishReason is not null);
        Assert.Same(updates[^1], final);
        Assert.Equal(ChatFinishReason.Stop, final.FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates.SelectMany(u => u.Contents), c => c is UsageContent)).Details;
        Assert.Equal(whole.Usage?.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(whole.Usage?.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage?.TotalTokenCount, usage.TotalTokenCount);
        Assert.All(updates, u => Assert.StartsWith("msg_", u.ResponseId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_that_stops_at_max_tokens_says_so()
    {
        var updates = await Collect(Client().GetStreamingResponseAsync([new(ChatRole.User, "go on")], new ChatOptions { MaxOutputTokens = 4 }));

        Assert.Equal(4, updates.Count(u => u.Text.Length > 0));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal(4, updates[^1].Contents.OfType<UsageContent>().Single().Details.OutputTokenCount);
    }

    [Fact]
    public async Task A_cut_stream_yields_its_text_but_no_finish_reason_nor_usage()
    {
        var updates = await Collect(Client().GetStreamingResponseAsync([new(ChatRole.User, "[sim:cut=3] go")]));

        Assert.Equal(3, updates.Count(u => u.Text.Length > 0));
        Assert.All(updates, u => Assert.Null(u.FinishReason));
        Assert.DoesNotContain(updates.SelectMany(u => u.Contents), c => c is UsageContent);
    }

    [Fact]
    public async Task A_dropped_connection_fails_the_stream_and_never_finishes_it()
    {
        var updates = new List<ChatResponseUpdate>();

        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in Client().GetStreamingResponseAsync([new(ChatRole.User, "[sim:reset=3] go")]))
            {
                updates.Add(update);
            }
        });

        Assert.True(failure is IOException or HttpRequestException, $"Expected a connection failure, got {failure?.GetType().Name ?? "none"}.");
        Assert.All(updates, u => Assert.Null(u.FinishReason));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_rate_limit_carries_status_429_and_the_retry_after_without_the_key(bool stream)
    {
        var limited = await Assert.ThrowsAsync<ProviderException>(() => Call(Client(), "[sim:status=429] [sim:retry=2] hi", stream));

        Assert.Equal(429, limited.Status);
        Assert.Equal(TimeSpan.FromSeconds(2), limited.RetryAfter);
        Assert.Null(limited.Code);
        Assert.DoesNotContain(UpstreamServer.Key, limited.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_overloaded_upstream_answers_529(bool stream)
    {
        await _upstream.SetFault("[sim:status=529]");

        var overloaded = await Assert.ThrowsAsync<ProviderException>(() => Call(Client(), "hi", stream));

        Assert.Equal(529, overloaded.Status);
        Assert.Null(overloaded.RetryAfter);
        Assert.DoesNotContain(UpstreamServer.Key, overloaded.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_prompt_longer_than_the_context_window_is_context_length_exceeded(bool stream)
    {
        await using var small = await UpstreamServer.StartAsync("--Simulation:ContextWindow=50");
        var client = new AnthropicChatClient(_http, small.BaseUrl, UpstreamServer.Key, Model, DefaultMaxTokens);
        var prompt = string.Join(' ', Enumerable.Repeat("lengthy", 80));

        var overflow = await Assert.ThrowsAsync<ProviderException>(() => Call(client, prompt, stream));

        Assert.Equal(400, overflow.Status);
        Assert.Equal(ProviderException.ContextLengthExceeded, overflow.Code);
        Assert.Matches(@"^prompt is too long: \d+ tokens > 50 maximum$", overflow.Message);
        await client.GetResponseAsync([new(ChatRole.User, "short")]); // The same server answers a prompt that fits.
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    public async Task The_base_url_may_end_with_or_without_a_slash(string suffix)
    {
        var client = Client(baseUrl: new Uri(_upstream.BaseUrl.AbsoluteUri.TrimEnd('/') + suffix));

        var response = await client.GetResponseAsync([new(ChatRole.User, "hi")]);

        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public void The_client_describes_itself_for_telemetry()
    {
        var metadata = Client().GetService<ChatClientMetadata>();

        Assert.Equal("anthropic", metadata?.ProviderName);
        Assert.Equal(Model, metadata?.DefaultModelId);
    }

    [Fact]
    public async Task Cache_reads_and_writes_count_as_input_and_the_last_output_total_wins()
    {
        using var http = new HttpClient(new Canned(HttpStatusCode.OK, "text/event-stream", Events(
            ("message_start", """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":7,"cache_read_input_tokens":5,"output_tokens":1}}}"""),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            ("ping", """{"type":"ping"}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"""),
            ("content_block_stop", """{"type":"content_block_stop","index":0}"""),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"###"},"usage":{"output_tokens":15}}"""),
            ("message_stop", """{"type":"message_stop"}"""))));
        var client = new AnthropicChatClient(http, new Uri("https://api.anthropic.invalid/v1"), UpstreamServer.Key, Model, DefaultMaxTokens);

        var updates = await Collect(client.GetStreamingResponseAsync([new(ChatRole.User, "hi")]));

        Assert.Equal("Hello!", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.Equal("claude-x", updates[^1].ModelId);
        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(15, usage.InputTokenCount);
        Assert.Equal(5, usage.CachedInputTokenCount);
        Assert.Equal(15, usage.OutputTokenCount);
        Assert.Equal(30, usage.TotalTokenCount);
    }

    [Fact]
    public async Task An_error_event_inside_a_stream_throws_with_the_status_its_type_stands_for()
    {
        using var http = new HttpClient(new Canned(HttpStatusCode.OK, "text/event-stream", Events(
            ("message_start", """{"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"""),
            ("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""))));
        var client = new AnthropicChatClient(http, new Uri("https://api.anthropic.invalid/v1"), UpstreamServer.Key, Model, DefaultMaxTokens);
        var updates = new List<ChatResponseUpdate>();

        var failure = await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync([new(ChatRole.User, "hi")]))
            {
                updates.Add(update);
            }
        });

        Assert.Equal(529, failure.Status);
        Assert.Equal("Overloaded", failure.Message);
        Assert.Equal("Hel", Assert.Single(updates).Text);
    }

    [Fact]
    public async Task A_key_an_upstream_echoes_in_its_error_is_redacted()
    {
        using var http = new HttpClient(new Canned(HttpStatusCode.Unauthorized, "application/json",
            $$$"""{"type":"error","error":{"type":"authentication_error","message":"key {{{UpstreamServer.Key}}} is revoked"}}"""));
        var client = new AnthropicChatClient(http, new Uri("https://api.anthropic.invalid/v1"), UpstreamServer.Key, Model, DefaultMaxTokens);

        var refused = await Assert.ThrowsAsync<ProviderException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")]));

        Assert.Equal(401, refused.Status);
        Assert.Equal("key [redacted] is revoked", refused.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Function_tools_round_trip_as_tool_use_and_tool_result_blocks(bool stream)
    {
        var weather = AIFunctionFactory.CreateDeclaration(
            "get_weather", "The weather in a city.", JsonDocument.Parse("""{"type":"object","properties":{"input":{"type":"string"}}}""").RootElement);
        var options = new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireSpecific("get_weather"), AllowMultipleToolCalls = false };
        List<ChatMessage> history = [new(ChatRole.User, "Lisbon? [sim:call=get_weather]")];

        var called = stream ? (await Collect(Client().GetStreamingResponseAsync(history, options))).ToChatResponse() : await Client().GetResponseAsync(history, options);

        Assert.Equal(ChatFinishReason.ToolCalls, called.FinishReason);
        var call = Assert.Single(called.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Lisbon?", call.Arguments!["input"]!.ToString());
        var declared = (await _upstream.ReceivedRequests())[^1];
        Assert.Equal("object", declared.GetProperty("tools")[0].GetProperty("input_schema").GetProperty("type").GetString());
        Assert.Equal("tool", declared.GetProperty("tool_choice").GetProperty("type").GetString());
        Assert.Equal("get_weather", declared.GetProperty("tool_choice").GetProperty("name").GetString());
        Assert.True(declared.GetProperty("tool_choice").GetProperty("disable_parallel_tool_use").GetBoolean());

        history.Add(new ChatMessage(ChatRole.Assistant, [call]));
        history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "22 degrees")]));
        var answered = await Client().GetResponseAsync(history, options);

        Assert.Contains("The tools returned: 22 degrees", answered.Text, StringComparison.Ordinal);
        var sent = (await _upstream.ReceivedRequests())[^1].GetProperty("messages");
        var toolUse = sent[1].GetProperty("content")[0];
        Assert.Equal(("tool_use", call.CallId, "Lisbon?"), (toolUse.GetProperty("type").GetString(), toolUse.GetProperty("id").GetString(), toolUse.GetProperty("input").GetProperty("input").GetString()));
        var result = sent[2].GetProperty("content")[0];
        Assert.Equal(("user", "tool_result", call.CallId), (sent[2].GetProperty("role").GetString(), result.GetProperty("type").GetString(), result.GetProperty("tool_use_id").GetString()));
    }

    [Fact]
    public async Task A_json_schema_is_asked_for_in_the_system_prompt_as_the_messages_api_has_no_json_mode()
    {
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}}}""").RootElement;

        await Client().GetResponseAsync([new(ChatRole.System, "be brief"), new(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "home") });

        var system = (await _upstream.ReceivedRequests())[^1].GetProperty("system").GetString()!;
        Assert.StartsWith("be brief\n\nRespond with one JSON object and nothing else.", system, StringComparison.Ordinal);
        Assert.Contains("(home): {\"type\":\"object\"", system, StringComparison.Ordinal);
    }

    private AnthropicChatClient Client(string key = UpstreamServer.Key, Uri? baseUrl = null) =>
        new(_http, baseUrl ?? _upstream.BaseUrl, key, Model, DefaultMaxTokens);

    private static async Task Call(AnthropicChatClient client, string prompt, bool stream)
    {
        if (stream)
        {
            await Collect(client.GetStreamingResponseAsync([new(ChatRole.User, prompt)]));
        }
        else
        {
            await client.GetResponseAsync([new(ChatRole.User, prompt)]);
        }
    }

    private static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> stream)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in stream)
        {
            updates.Add(update);
        }

        return updates;
    }

    private static string Events(params (string Name, string Data)[] events) =>
        string.Concat(events.Select(e => $"event: {e.Name}\ndata: {e.Data}\n\n"));

    /// <summary>An upstream that answers every request with one fixed response.</summary>
    private sealed class Canned(HttpStatusCode status, string mediaType, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) });
    }
}
