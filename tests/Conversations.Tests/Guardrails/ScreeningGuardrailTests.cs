using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Guardrails;

/// <summary>
/// Injection screening of user input (knowledge chunks: <see cref="IndirectInjectionTests"/>) and output screening (whole answers and streams)
/// end to end, through real HTTP to the simulated upstream.
/// </summary>
public sealed class ScreeningGuardrailTests : UpstreamGatewayTest
{
    [Fact]
    public async Task Override_attempts_in_user_input_are_blocked_before_the_model_and_benign_text_passes()
    {
        using var http = Gateway.Http(await GuardedTenant.MemberOf(Gateway, new { injection = new { action = "block" } }));
        var before = (await Upstream.ReceivedRequests()).Count;

        foreach (var attack in InjectionCorpus.Attacks)
        {
            using var refused = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Chat(attack)));
            var error = await refused.AssertOpenAIError(HttpStatusCode.BadRequest);
            Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
            Assert.Contains("'injection' guardrail", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        foreach (var text in InjectionCorpus.Benign)
        {
            using var passed = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Chat(text)));
            Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        }

        Assert.Equal(before + InjectionCorpus.Benign.Count, (await Upstream.ReceivedRequests()).Count);
    }

    [Fact]
    public async Task Output_redaction_covers_whole_answers_and_streams()
    {
        var chat = Gateway.OpenAI(await GuardedTenant.MemberOf(Gateway, new { output = new { action = "redact" } })).GetChatClient("remote");
        const string Said = "Tell ops.lead@example.org, card 4111-1111-1111-1111, then 10.20.30.40 and nothing else of note here";
        const string Redacted = "Tell [EMAIL], card [CREDIT_CARD], then [IP_ADDRESS] and nothing else of note here";

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage(Said)]);
        var streamed = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Said)]))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
        }

        Assert.Contains(Said, (await Upstream.ReceivedRequests())[^1].GetRawText(), StringComparison.Ordinal); // output screening leaves the prompt alone
        Assert.EndsWith("You said: " + Redacted, whole.Content[0].Text, StringComparison.Ordinal);
        Assert.EndsWith("You said: " + Redacted, streamed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_redaction_leaves_out_the_logprobs_whose_tokens_would_show_what_it_redacted()
    {
        var chat = Gateway.OpenAI(await GuardedTenant.MemberOf(Gateway, new { output = new { action = "redact" } })).GetChatClient("remote");
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 1 };
        const string Said = "Write to ops.lead@example.org please";

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage(Said)], options);
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Said)], options))
        {
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }

        Assert.True((await Upstream.ReceivedRequests())[^1].GetProperty("logprobs").GetBoolean()); // asked for, then withheld
        Assert.Contains("[EMAIL]", whole.Content[0].Text, StringComparison.Ordinal);
        Assert.Empty(whole.ContentTokenLogProbabilities);
        Assert.Empty(streamed);
    }

    [Fact]
    public async Task Output_block_ends_a_stream_with_an_error_not_a_clean_finish()
    {
        using var http = Gateway.Http(await GuardedTenant.MemberOf(Gateway, new { output = new { action = "block" } }));

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","stream":true,"messages":[{"role":"user","content":"my ssn is 123-45-6789"}]}"""));
        var events = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("123-45-6789", events, StringComparison.Ordinal);
        Assert.Contains("guardrail_blocked", events, StringComparison.Ordinal);
        Assert.DoesNotContain("\"finish_reason\":\"stop\"", events, StringComparison.Ordinal);
    }

    private static string Chat(string text) => JsonSerializer.Serialize(new { model = "remote", messages = new[] { new { role = "user", content = text } } });
}
