using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>context_management: [{"type": "compaction", "compact_threshold": N}]</c> on <c>POST /v1/responses</c> over real HTTP,
/// the model served by the simulated upstream: a context above N is summarized first, the compaction item is the
/// response's first output, and the next turn of the chain starts at it, so the upstream receives fewer tokens.
/// </summary>
public sealed class InlineCompactionTests : UpstreamGatewayTest
{
    internal static readonly string Long = string.Concat(Enumerable.Repeat("My name is Ada and I live in Lisbon, by the river. ", 120));

    internal const string Compaction = "\"context_management\":[{\"type\":\"compaction\",\"compact_threshold\":1000}]";

    [Fact]
    public async Task A_context_over_the_threshold_is_compacted_in_line_and_the_next_turn_starts_at_the_compaction()
    {
        using var http = Gateway.Http();
        var first = await http.PostJson("/v1/responses", $$"""{"model":"remote","input":"{{Long}}"}""");
        var firstId = first.GetProperty("id").GetString();

        var second = await http.PostJson("/v1/responses", $$"""{"model":"remote","previous_response_id":"{{firstId}}","input":"Where do I live?",{{Compaction}}}""");
        var received = await Upstream.ReceivedRequests();
        var summarizer = received[^2].GetProperty("messages");
        var answered = received[^1].GetProperty("messages");
        var item = second.GetProperty("output")[0];
        var summary = item.GetProperty("encrypted_content").GetString()!;
        var stored = await http.GetJson($"/v1/responses/{second.GetProperty("id").GetString()}");

        var third = await http.PostJson("/v1/responses", $$"""{"model":"remote","previous_response_id":"{{second.GetProperty("id").GetString()}}","input":"And my name?"}""");
        var next = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");

        Assert.Equal("compaction", item.GetProperty("type").GetString());
        Assert.StartsWith("cmp_", item.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("message", second.GetProperty("output")[1].GetProperty("type").GetString());
        Assert.Contains("running summary", summarizer[0].GetProperty("content").GetString(), StringComparison.Ordinal); // the rolling summary's prompt
        Assert.Contains("Ada", summarizer[1].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal(["system", "user"], answered.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Summary of the conversation so far: " + summary, answered[0].GetProperty("content").GetString());
        Assert.Equal("Where do I live?", answered[1].GetProperty("content").GetString());
        Assert.Equal("compaction", stored.GetProperty("output")[0].GetProperty("type").GetString()); // stored with the response

        // The next turn of the chain sends the compaction, the answer after it and the new input, not the first turn's items.
        Assert.Equal("Summary of the conversation so far: " + summary, next[0].GetProperty("content").GetString());
        Assert.Equal(["system", "assistant", "user"], next.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var before = first.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        var after = third.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        Assert.True(after < before / 4, $"the turn after the compaction sent {after} tokens, the first turn {before}");
    }

    [Fact]
    public async Task A_context_under_the_threshold_is_sent_whole_and_no_summary_is_made()
    {
        using var http = Gateway.Http();

        var response = await http.PostJson("/v1/responses", """{"model":"remote","input":"Hello there",""" + Compaction + "}");

        Assert.Single(await Upstream.ReceivedRequests());
        Assert.Equal("message", Assert.Single(response.GetProperty("output").EnumerateArray()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_streamed_response_announces_the_compaction_as_output_zero_before_the_answer()
    {
        using var http = Gateway.Http();
        using var streamed = await http.PostAsync("/v1/responses", JsonHttp.Body($$"""{"model":"remote","stream":true,"input":"{{Long}} Where do I live?",{{Compaction}}}"""));

        AssertCompactionLeads(await streamed.ReadEvents());
    }

    /// <summary>A streamed response announces its compaction as output 0, the answer at 1, and completes with both in that order.</summary>
    internal static void AssertCompactionLeads(List<JsonElement> events)
    {
        var added = events.Where(e => e.GetProperty("type").GetString() == "response.output_item.added").ToList();
        var delta = events.First(e => e.GetProperty("type").GetString() == "response.output_text.delta");
        var completed = events[^1].GetProperty("response");

        Assert.Equal("compaction", added[0].GetProperty("item").GetProperty("type").GetString());
        Assert.Equal(0, added[0].GetProperty("output_index").GetInt32());
        Assert.Equal("message", added[1].GetProperty("item").GetProperty("type").GetString());
        Assert.Equal(1, delta.GetProperty("output_index").GetInt32());
        Assert.Equal(["compaction", "message"], completed.GetProperty("output").EnumerateArray().Select(o => o.GetProperty("type").GetString()));
    }

    [Fact]
    [Trait(TestSpeed.Category, TestSpeed.Fast)]
    public async Task Bad_context_management_is_refused_naming_the_field()
    {
        using var http = Gateway.Http();

        using var low = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"remote","input":"hi","context_management":[{"type":"compaction","compact_threshold":10}]}"""));
        using var kind = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"remote","input":"hi","context_management":[{"type":"trim"}]}"""));
        using var empty = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"remote","input":"hi","context_management":[]}"""));

        await low.AssertOpenAIError(HttpStatusCode.BadRequest, "context_management[0].compact_threshold");
        await kind.AssertOpenAIError(HttpStatusCode.BadRequest, "context_management[0].type");
        await empty.AssertOpenAIError(HttpStatusCode.BadRequest, "context_management");
        Assert.Empty(await Upstream.ReceivedRequests());
    }
}
