using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>context_management</c> compaction on a conversation's turn over real HTTP, the model served by the simulated upstream
/// (which reports the prompt tokens it received): the conversation's history is folded into its rolling summary in the turn,
/// the upstream receives fewer tokens than for the same turn uncompacted, and the next turn starts from that summary.
/// </summary>
public sealed class ConversationCompactionTests : UpstreamGatewayTest
{
    private const string Compaction = InlineCompactionTests.Compaction;

    [Fact]
    public async Task A_turn_over_the_threshold_is_compacted_into_the_summary_and_the_next_turn_starts_from_it()
    {
        using var http = Gateway.Http();
        var whole = await History(http);
        var compacted = await History(http);

        var uncompacted = await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{whole}}","input":"Where do I live?"}""");
        var answer = await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{compacted}}","input":"Where do I live?",{{Compaction}}}""");
        var received = await Upstream.ReceivedRequests();
        var summarizer = received[^2].GetProperty("messages");
        var answered = received[^1].GetProperty("messages");
        var item = answer.GetProperty("output")[0];
        var summary = item.GetProperty("encrypted_content").GetString()!;
        var stored = await http.GetJson($"/v1/responses/{answer.GetProperty("id").GetString()}");
        var state = await http.GetJson($"/v1/conversations/{compacted}/state");
        var preview = await http.GetJson($"/v1/conversations/{compacted}/context?model=remote");

        await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{compacted}}","input":"And my name?"}""");
        var next = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");

        Assert.Equal("compaction", item.GetProperty("type").GetString());
        Assert.StartsWith("cmp_", item.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(["compaction", "message"], stored.GetProperty("output").EnumerateArray().Select(o => o.GetProperty("type").GetString()));
        Assert.Contains("running summary", summarizer[0].GetProperty("content").GetString(), StringComparison.Ordinal); // the rolling summary's prompt
        Assert.Contains("Lisbon", summarizer[1].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal("Summary of the earlier conversation:\n" + summary, answered[0].GetProperty("content").GetString());
        Assert.Equal("Where do I live?", answered[answered.GetArrayLength() - 1].GetProperty("content").GetString());
        Assert.DoesNotContain(answered.EnumerateArray(), m => m.GetProperty("content").GetString()!.StartsWith("0: My name is Ada", StringComparison.Ordinal)); // the history is the summary now
        var before = uncompacted.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        var after = answer.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        Assert.True(after < before, $"the compacted turn sent {after} prompt tokens, the same turn uncompacted {before}");

        // The summary is the conversation's: stored with the turn, first in its context, and the next turn is sent it.
        Assert.Equal(summary, state.GetProperty("summary").GetProperty("text").GetString());
        Assert.Equal("summary", preview.GetProperty("sections")[0].GetProperty("name").GetString());
        Assert.Equal("Summary of the earlier conversation:\n" + summary, next[0].GetProperty("content").GetString());
        Assert.Equal(["system", "user", "assistant", "user"], next.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
    }

    [Fact]
    public async Task A_streamed_turn_announces_the_compaction_as_output_zero_before_the_answer()
    {
        using var http = Gateway.Http();
        var conversation = await History(http);

        using var streamed = await http.PostAsync("/v1/responses", JsonHttp.Body(
            $$"""{"model":"remote","stream":true,"conversation":"{{conversation}}","input":"Where do I live?",{{Compaction}}}"""));

        InlineCompactionTests.AssertCompactionLeads(await streamed.ReadEvents());
    }

    [Fact]
    public async Task A_background_turn_is_compacted_when_it_runs_and_its_response_leads_with_the_compaction()
    {
        using var http = Gateway.Http();
        var conversation = await History(http);

        var queued = await http.PostJson("/v1/responses", $$"""{"model":"remote","background":true,"conversation":"{{conversation}}","input":"Where do I live?",{{Compaction}}}""");
        var id = queued.GetProperty("id").GetString();
        var done = await Eventually.Get(async () => await http.GetJson($"/v1/responses/{id}") is var polled
            && polled.GetProperty("status").GetString() == "completed" ? polled : (JsonElement?)null);
        var state = await http.GetJson($"/v1/conversations/{conversation}/state");

        Assert.Equal(["compaction", "message"], done.GetProperty("output").EnumerateArray().Select(o => o.GetProperty("type").GetString()));
        Assert.Equal(done.GetProperty("output")[0].GetProperty("encrypted_content").GetString(), state.GetProperty("summary").GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_turn_under_the_threshold_is_sent_whole_and_makes_no_summary()
    {
        using var http = Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();

        var answer = await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{conversation}}","input":"Hello there",{{Compaction}}}""");
        var state = await http.GetJson($"/v1/conversations/{conversation}/state");

        Assert.Single(await Upstream.ReceivedRequests());
        Assert.Equal("message", Assert.Single(answer.GetProperty("output").EnumerateArray()).GetProperty("type").GetString());
        Assert.False(state.TryGetProperty("summary", out var summary) && summary.ValueKind != JsonValueKind.Null);
    }

    /// <summary>A conversation holding two long exchanges, well over the threshold.</summary>
    private static async Task<string> History(HttpClient http)
    {
        var items = string.Join(',', Enumerable.Range(0, 2).SelectMany(i => new[]
        {
            $$"""{"type":"message","role":"user","content":"{{i}}: {{InlineCompactionTests.Long}}"}""",
            $$"""{"type":"message","role":"assistant","content":"Noted, part {{i}}."}""",
        }));
        return (await http.PostJson("/v1/conversations", $$"""{"items":[{{items}}]}""")).GetProperty("id").GetString()!;
    }
}
