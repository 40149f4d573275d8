using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Providers;

/// <summary>
/// The OpenAI-compatible provider over real HTTP, against the project's simulated upstream server
/// (hosted providers are unreachable from this machine; the upstream speaks the same wire format).
/// </summary>
public sealed class OpenAICompatibleProviderTests : UpstreamGatewayTest
{

    [Fact]
    public async Task Chat_goes_to_theUpstream_with_its_model_name_and_key_and_returns_its_usage()
    {
        ChatCompletion completion = await Gateway.OpenAI().GetChatClient("remote").CompleteChatAsync([new UserChatMessage("over the wire")]);

        Assert.Contains("over the wire", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.True(completion.Usage.InputTokenCount > 0);
        var received = (await Upstream.ReceivedRequests())[^1];
        Assert.Equal("sim-upstream", received.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Streaming_through_theUpstream_asks_for_usage_and_reports_it()
    {
        ChatTokenUsage? usage = null;
        await foreach (var update in Gateway.OpenAI().GetChatClient("remote").CompleteChatStreamingAsync([new UserChatMessage("stream")]))
        {
            usage ??= update.Usage;
        }

        Assert.NotNull(usage);
        var received = (await Upstream.ReceivedRequests())[^1];
        Assert.True(received.GetProperty("stream").GetBoolean());
        Assert.True(received.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task A_conversation_turn_sends_the_stored_historyUpstream()
    {
        using var http = Gateway.Http();
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"items":[{"role":"user","content":"remember 42"}]}"""));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json($$"""{"model":"remote","conversation":"{{id}}","input":"what number?","instructions":"be exact"}"""));

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        var messages = (await Upstream.ReceivedRequests())[^1].GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString(), Text(m.GetProperty("content")))).ToList();
        Assert.Equal([("system", "be exact"), ("user", "remember 42"), ("user", "what number?")], messages);
    }

    [Fact]
    public async Task A_stream_theUpstream_ends_without_finishing_reaches_the_client_as_an_error()
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","stream":true,"messages":[{"role":"user","content":"[sim:cut=3] go"}]}"""));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("\"delta\":{\"content\"", body, StringComparison.Ordinal);
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_dropped_mid_stream_never_looks_like_a_finished_answer()
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","stream":true,"messages":[{"role":"user","content":"[sim:reset=3] go"}]}"""));
        var body = await response.Content.ReadAsStringAsync();

        // Whether the deltas arrive before the reset is up to TCP; either way the client sees an error, never [DONE].
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"finish_reason\":\"stop\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503, HttpStatusCode.BadGateway)]
    [InlineData(500, HttpStatusCode.BadGateway)]
    [InlineData(429, HttpStatusCode.TooManyRequests)]
    public async Task Upstream_errors_map_toGateway_statuses_without_leaking_the_provider_key(int upstreamStatus, HttpStatusCode expected)
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            $$"""{"model":"remote","messages":[{"role":"user","content":"[sim:status={{upstreamStatus}}] x"}]}"""));

        await response.AssertOpenAIError(expected);
        var everything = response.Headers.ToString() + await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(UpstreamServer.Key, everything, StringComparison.Ordinal);
    }

    private static string Text(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
}
