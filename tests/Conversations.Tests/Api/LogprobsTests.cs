using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Providers;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Api;

/// <summary>
/// Log probabilities passed through to an OpenAI-compatible upstream over HTTP and back in OpenAI's shapes: chat
/// <c>choices[].logprobs</c> (whole and per streamed chunk) through the official SDK, and Responses' <c>output_text</c>
/// parts and text deltas. The simulated upstream gives each token a stable log probability (<see cref="Logprobs.Simulated"/>),
/// so what the client reads can be checked against what the upstream sent.
/// </summary>
public sealed class LogprobsTests : UpstreamGatewayTest
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Conversations:Routes:claude:Deployments:0:Name"] = "anthropic";
        settings["Conversations:Routes:claude:Deployments:0:Provider"] = "Anthropic";
        settings["Conversations:Routes:claude:Deployments:0:Credential"] = "upstream";
        settings["Conversations:Routes:claude:Deployments:0:UpstreamModel"] = "claude-sim";
    }

    [Fact]
    public async Task A_chat_completion_returns_the_upstream_s_logprobs_for_each_token_with_its_alternatives()
    {
        var chat = Gateway.OpenAI().GetChatClient("remote");

        ChatCompletion completion = await chat.CompleteChatAsync(
            [new UserChatMessage("Tell me about logprobs")], new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 });

        var sent = (await Upstream.ReceivedRequests())[^1];
        Assert.True(sent.GetProperty("logprobs").GetBoolean());
        Assert.Equal(2, sent.GetProperty("top_logprobs").GetInt32());
        var tokens = completion.ContentTokenLogProbabilities;
        Assert.NotEmpty(tokens);
        Assert.Equal(completion.Content[0].Text, string.Concat(tokens.Select(t => t.Token)));
        foreach (var token in tokens)
        {
            var expected = Logprobs.Simulated(token.Token, 2);
            Assert.Equal((float)expected.Logprob, token.LogProbability);
            Assert.Equal(Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes?.ToArray());
            Assert.Equal([token.Token, "alt1"], token.TopLogProbabilities.Select(t => t.Token));
        }
    }

    [Fact]
    public async Task A_streamed_chat_completion_carries_each_chunk_s_logprobs()
    {
        var chat = Gateway.OpenAI().GetChatClient("remote");
        var text = new StringBuilder();
        var tokens = new List<string>();

        await foreach (var update in chat.CompleteChatStreamingAsync(
            [new UserChatMessage("Stream me some logprobs")], new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 0 }))
        {
            var piece = string.Concat(update.ContentUpdate.Select(p => p.Text));
            text.Append(piece);
            tokens.AddRange(update.ContentTokenLogProbabilities.Select(t => t.Token));
            Assert.Equal(piece, string.Concat(update.ContentTokenLogProbabilities.Select(t => t.Token)));
            Assert.All(update.ContentTokenLogProbabilities, t => Assert.Empty(t.TopLogProbabilities));
        }

        Assert.True(tokens.Count > 1);
        Assert.Equal(text.ToString(), string.Concat(tokens));
        Assert.Equal(0, (await Upstream.ReceivedRequests())[^1].GetProperty("top_logprobs").GetInt32());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_answer_cut_at_the_output_cap_keeps_the_logprobs_of_the_text_it_kept(bool stream)
    {
        using var http = Gateway.Http();

        // [sim:overrun] makes the upstream ignore max_tokens, so the gateway's own cap cuts the answer.
        using var response = await http.PostAsync("/v1/chat/completions", JsonHttp.Body($$"""
            {"model":"remote","stream":{{(stream ? "true" : "false")}},"max_tokens":3,"logprobs":true,
             "messages":[{"role":"user","content":"a long answer please [sim:overrun] [sim:tokens=40]"}]}
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var (text, tokens) = stream ? Streamed(body) : Whole(JsonElement.Parse(body));
        Assert.Equal(3, tokens.Count);
        Assert.Equal(text, string.Concat(tokens));
    }

    [Fact]
    public async Task A_chat_completion_without_logprobs_asks_for_none_and_answers_null()
    {
        using var http = Gateway.Http();

        var answer = await http.PostJson("/v1/chat/completions", """{"model":"remote","messages":[{"role":"user","content":"plain"}]}""");

        Assert.Equal(JsonValueKind.Null, answer.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.False((await Upstream.ReceivedRequests())[^1].TryGetProperty("logprobs", out _));
    }

    [Fact]
    public async Task A_route_whose_provider_has_no_logprobs_answers_without_them()
    {
        using var http = Gateway.Http();

        var answer = await http.PostJson("/v1/chat/completions", """{"model":"claude","logprobs":true,"messages":[{"role":"user","content":"hello claude"}]}""");

        Assert.NotEmpty(answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task A_response_includes_its_output_text_logprobs_when_asked()
    {
        using var http = Gateway.Http();

        var answer = await http.PostJson("/v1/responses",
            """{"model":"remote","input":"Responses with logprobs","include":["message.output_text.logprobs"],"top_logprobs":3}""");

        var part = answer.GetProperty("output")[0].GetProperty("content")[0];
        var tokens = part.GetProperty("logprobs").EnumerateArray().ToList();
        Assert.NotEmpty(tokens);
        Assert.Equal(part.GetProperty("text").GetString(), string.Concat(tokens.Select(t => t.GetProperty("token").GetString())));
        Assert.All(tokens, t => Assert.Equal(3, t.GetProperty("top_logprobs").GetArrayLength()));
        Assert.Equal(3, (await Upstream.ReceivedRequests())[^1].GetProperty("top_logprobs").GetInt32());
    }

    [Fact]
    public async Task A_conversation_turn_answers_with_its_logprobs_and_stores_only_its_text()
    {
        using var http = Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();

        var answer = await http.PostJson("/v1/responses",
            $$"""{"model":"remote","conversation":"{{conversation}}","input":"A turn with logprobs","include":["message.output_text.logprobs"]}""");
        var stored = await http.GetJson($"/v1/responses/{answer.GetProperty("id").GetString()}");

        var part = answer.GetProperty("output")[0].GetProperty("content")[0];
        Assert.NotEmpty(part.GetProperty("logprobs").EnumerateArray());
        Assert.Equal(part.GetProperty("text").GetString(), string.Concat(part.GetProperty("logprobs").EnumerateArray().Select(t => t.GetProperty("token").GetString())));
        Assert.Empty(stored.GetProperty("output")[0].GetProperty("content")[0].GetProperty("logprobs").EnumerateArray());
    }

    [Fact]
    public async Task A_streamed_response_carries_logprobs_on_each_text_delta_and_on_the_done_text()
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync("/v1/responses", JsonHttp.Body(
            """{"model":"remote","stream":true,"input":"Stream a response","include":["message.output_text.logprobs"]}"""));

        var events = await response.ReadEvents();
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").ToList();
        Assert.NotEmpty(deltas);
        Assert.All(deltas, d => Assert.Equal(
            d.GetProperty("delta").GetString(), string.Concat(d.GetProperty("logprobs").EnumerateArray().Select(t => t.GetProperty("token").GetString()))));
        var done = events.Single(e => e.GetProperty("type").GetString() == "response.output_text.done");
        Assert.Equal(done.GetProperty("text").GetString(), string.Concat(done.GetProperty("logprobs").EnumerateArray().Select(t => t.GetProperty("token").GetString())));
        var completed = events.Single(e => e.GetProperty("type").GetString() == "response.completed");
        Assert.NotEmpty(completed.GetProperty("response").GetProperty("output")[0].GetProperty("content")[0].GetProperty("logprobs").EnumerateArray());
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"remote","logprobs":true,"top_logprobs":21,"messages":[{"role":"user","content":"x"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"remote","logprobs":true,"top_logprobs":-1,"messages":[{"role":"user","content":"x"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"remote","top_logprobs":2,"messages":[{"role":"user","content":"x"}]}""")]
    [InlineData("/v1/responses", """{"model":"remote","input":"x","include":["message.output_text.logprobs"],"top_logprobs":21}""")]
    public async Task Top_logprobs_out_of_range_or_without_logprobs_is_refused_naming_it(string path, string body)
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync(path, JsonHttp.Body(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, "top_logprobs");
    }

    private static (string Text, List<string> Tokens) Whole(JsonElement completion)
    {
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        return (choice.GetProperty("message").GetProperty("content").GetString()!, Tokens(choice.GetProperty("logprobs")));
    }

    private static (string Text, List<string> Tokens) Streamed(string events)
    {
        var chunks = events.Split('\n').Where(line => line.StartsWith("data: {", StringComparison.Ordinal)).Select(line => JsonElement.Parse(line["data: ".Length..]));
        var choices = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).ToList();
        Assert.Equal("length", choices[^1].GetProperty("finish_reason").GetString());
        var text = string.Concat(choices.Select(c => c.GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : null));
        return (text, [.. choices.Where(c => c.TryGetProperty("logprobs", out var l) && l.ValueKind != JsonValueKind.Null).SelectMany(c => Tokens(c.GetProperty("logprobs")))]);
    }

    private static List<string> Tokens(JsonElement logprobs) =>
        [.. logprobs.GetProperty("content").EnumerateArray().Select(t => t.GetProperty("token").GetString()!)];
}
