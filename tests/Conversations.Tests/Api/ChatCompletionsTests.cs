using System.ClientModel;
using System.Net;
using System.Text;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Api;

/// <summary>Chat completions through the official OpenAI .NET SDK, against the running service.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ChatCompletionsTests(GatewayFixture fixture)
{
    private ChatClient Chat => fixture.Gateway.OpenAI().GetChatClient("sim-small");

    [Fact]
    public async Task Plain_completion_answers_with_text_and_usage()
    {
        ChatCompletion completion = await Chat.CompleteChatAsync([new UserChatMessage("hello gateway")]);

        Assert.Contains("hello gateway", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_embedded_simulated_model_calls_a_tool_when_told_to(bool stream)
    {
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather.") } };
        List<ChatMessage> messages = [new UserChatMessage("Lisbon? [sim:call=get_weather]")];

        var (name, finish) = stream ? await StreamedCall(messages, options) : await Call(messages, options);

        Assert.Equal("get_weather", name);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    private async Task<(string? Name, ChatFinishReason? Finish)> Call(List<ChatMessage> messages, ChatCompletionOptions options)
    {
        ChatCompletion completion = await Chat.CompleteChatAsync(messages, options);
        return (Assert.Single(completion.ToolCalls).FunctionName, completion.FinishReason);
    }

    private async Task<(string? Name, ChatFinishReason? Finish)> StreamedCall(List<ChatMessage> messages, ChatCompletionOptions options)
    {
        (string? Name, ChatFinishReason? Finish) seen = (null, null);
        await foreach (var update in Chat.CompleteChatStreamingAsync(messages, options))
        {
            seen = (seen.Name ?? (update.ToolCallUpdates.Count > 0 ? update.ToolCallUpdates[0].FunctionName : null), seen.Finish ?? update.FinishReason);
        }

        return seen;
    }

    [Fact]
    public async Task Streaming_completion_sends_deltas_and_a_usage_chunk()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("stream this")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.True(updates > 3);
        Assert.Contains("stream this", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Raw_stream_ends_with_done_and_includes_usage_only_when_asked()
    {
        using var http = fixture.Gateway.Http();

        var withUsage = await ReadStream(http, """{"model":"sim-small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        var withoutUsage = await ReadStream(http, """{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("[DONE]", withUsage[^1]);
        Assert.Contains("\"usage\"", withUsage[^2], StringComparison.Ordinal);
        Assert.Equal("[DONE]", withoutUsage[^1]);
        Assert.DoesNotContain(withoutUsage, line => line.Contains("\"usage\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stream_cut_by_the_upstream_ends_with_an_error_event_and_no_done()
    {
        using var http = fixture.Gateway.Http();
        var model = await FailingRoutes.Create(http);

        var events = await ReadStream(http, $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"[sim:cut=4] go"}]}""");

        Assert.Contains("\"error\"", events[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", events);
        Assert.DoesNotContain(events, e => e.Contains("\"finish_reason\":\"stop\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Upstream_failure_before_the_first_token_is_a_plain_http_error_even_when_streaming()
    {
        using var http = fixture.Gateway.Http();
        var model = await FailingRoutes.Create(http);

        using var response = await http.PostAsync("/v1/chat/completions", Json($$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"[sim:status=503] x"}]}"""));

        await response.AssertOpenAIError(HttpStatusCode.BadGateway);
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found()
    {
        var exception = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.Gateway.OpenAI().GetChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("x")]));

        Assert.Equal(404, exception.Status);
    }

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<List<string>> ReadStream(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/chat/completions", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return [.. text.Split('\n').Where(line => line.StartsWith("data: ", StringComparison.Ordinal)).Select(line => line["data: ".Length..])];
    }
}
