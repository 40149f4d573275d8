using Conversations.Providers;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Security;

/// <summary>
/// Every deployment's output limit holds whatever its provider does (issue 17, finding 3): the upstream is asked for at most
/// the deployment's <c>MaxOutputTokens</c> (or the request's own limit, if lower), and an answer past it is cut there with
/// finish reason <c>length</c>. The "remote" deployment here allows 40 tokens; <c>[sim:overrun]</c> makes the simulated
/// upstream ignore the limit it is sent.
/// </summary>
public sealed class OutputLimitTests : IAsyncLifetime
{
    private const int Limit = 40;

    private UpstreamServer _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var settings = _upstream.GatewaySettings("remote");
        settings["Conversations:Routes:remote:Deployments:0:MaxOutputTokens"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Conversations:Routes:sim-small:Deployments:0:Name"] = "sim-small";
        settings["Conversations:Routes:sim-small:Deployments:0:Provider"] = "Simulated";
        _gateway = new GatewayFactory(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task The_upstream_is_asked_for_at_most_the_deployments_limit_or_the_requests_if_lower()
    {
        var chat = _gateway.OpenAI().GetChatClient("remote");

        await chat.CompleteChatAsync([new UserChatMessage("no limit of its own")]);
        var unlimited = (await _upstream.ReceivedRequests())[^1];
        await chat.CompleteChatAsync([new UserChatMessage("a lower limit")], new ChatCompletionOptions { MaxOutputTokenCount = 7 });
        var lower = (await _upstream.ReceivedRequests())[^1];
        await chat.CompleteChatAsync([new UserChatMessage("a higher limit")], new ChatCompletionOptions { MaxOutputTokenCount = 100_000 });
        var higher = (await _upstream.ReceivedRequests())[^1];

        Assert.Equal([Limit, 7, Limit], new[] { unlimited, lower, higher }.Select(MaxTokens));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, 12)]
    [InlineData(true, 12)]
    public async Task An_answer_past_the_limit_is_cut_there_with_finish_reason_length(bool stream, int? requested)
    {
        var chat = _gateway.OpenAI().GetChatClient("remote");
        List<ChatMessage> messages = [new UserChatMessage("talk on [sim:overrun] [sim:tokens=5000]")];
        var options = new ChatCompletionOptions { MaxOutputTokenCount = requested };

        var (text, finish) = stream ? await Streamed(chat, messages, options) : await Whole(chat, messages, options);

        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.InRange(TokenCounter.Shared.Count(text), 1, requested ?? Limit);
    }

    [Fact]
    public async Task The_embedded_simulated_model_stops_at_its_deployments_limit()
    {
        var chat = _gateway.OpenAI().GetChatClient("sim-small");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("a very long answer [sim:tokens=2000000]")]);

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 4_096); // the embedded deployment's default limit
        Assert.InRange(TokenCounter.Shared.Count(completion.Content[0].Text), 1, 4_096);
    }

    private static int? MaxTokens(System.Text.Json.JsonElement request) =>
        request.TryGetProperty("max_completion_tokens", out var value) || request.TryGetProperty("max_tokens", out value) ? value.GetInt32() : null;

    private static async Task<(string Text, ChatFinishReason? Finish)> Whole(ChatClient chat, List<ChatMessage> messages, ChatCompletionOptions options)
    {
        ChatCompletion completion = await chat.CompleteChatAsync(messages, options);
        return (completion.Content[0].Text, completion.FinishReason);
    }

    private static async Task<(string Text, ChatFinishReason? Finish)> Streamed(ChatClient chat, List<ChatMessage> messages, ChatCompletionOptions options)
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(part => part.Text)));
            finish ??= update.FinishReason;
        }

        return (text.ToString(), finish);
    }
}
