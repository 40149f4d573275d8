using System.Net;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>POST /v1/responses/compact</c> over real HTTP, the model served by the simulated upstream: the context is summarized
/// with the rolling summary's prompt into one compaction item, and a response given that item sends its summary instead
/// of the context it replaces.
/// </summary>
public sealed class ResponseCompactionTests : UpstreamGatewayTest
{
    private static readonly string Long = string.Concat(Enumerable.Repeat("My name is Ada and I live in Lisbon, by the river. ", 40));

    [Fact]
    public async Task A_context_is_compacted_into_one_item_and_the_next_response_sends_the_summary_instead()
    {
        using var http = Gateway.Http();
        var context = $$"""[{"role":"user","content":"{{Long}}"},{"role":"assistant","content":"{{Long}}"}]""";

        var compacted = await http.PostJson("/v1/responses/compact", $$"""{"model":"remote","input":{{context}}}""");
        var summarizer = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");
        var item = Assert.Single(compacted.GetProperty("output").EnumerateArray());
        var summary = item.GetProperty("encrypted_content").GetString()!;
        var question = """{"role":"user","content":"Where do I live?"}""";
        var before = await Count(http, $$"""{"model":"remote","input":{{context[..^1]}},{{question}}]}""");
        var after = await Count(http, $$"""{"model":"remote","input":[{{item.GetRawText()}},{{question}}]}""");
        var next = await http.PostJson("/v1/responses", $$"""{"model":"remote","input":[{{item.GetRawText()}},{{question}}]}""");
        var sent = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");

        Assert.Equal("response.compaction", compacted.GetProperty("object").GetString());
        Assert.Equal("compaction", item.GetProperty("type").GetString());
        Assert.StartsWith("cmp_", item.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(summary);
        Assert.True(compacted.GetProperty("usage").GetProperty("input_tokens").GetInt32() > 0);
        Assert.Contains("running summary", summarizer[0].GetProperty("content").GetString(), StringComparison.Ordinal); // the rolling summary's prompt
        Assert.Contains("Ada", summarizer[1].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.True(after < before / 4, $"the compacted context ({after} tokens) is much smaller than the one it replaces ({before})");
        Assert.Equal("completed", next.GetProperty("status").GetString());
        Assert.Equal(["system", "user"], sent.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Summary of the conversation so far: " + summary, sent[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_previous_response_chain_can_be_compacted()
    {
        using var http = Gateway.Http();
        var first = (await http.PostJson("/v1/responses", $$"""{"model":"remote","input":"{{Long}}"}""")).GetProperty("id").GetString();

        var compacted = await http.PostJson("/v1/responses/compact", $$"""{"model":"remote","previous_response_id":"{{first}}","instructions":"Keep names."}""");
        var summarizer = (await Upstream.ReceivedRequests())[^1].GetProperty("messages");

        Assert.Equal("compaction", compacted.GetProperty("output")[0].GetProperty("type").GetString());
        var transcript = summarizer[1].GetProperty("content").GetString();
        Assert.Contains("system: Keep names.", transcript, StringComparison.Ordinal);
        Assert.Contains("user: My name is Ada", transcript, StringComparison.Ordinal);
        Assert.Contains("assistant: ", transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_compaction_requests_are_refused_naming_the_field()
    {
        using var http = Gateway.Http();

        using var noModel = await http.PostAsync("/v1/responses/compact", JsonHttp.Body("""{"input":"hi"}"""));
        using var noInput = await http.PostAsync("/v1/responses/compact", JsonHttp.Body("""{"model":"remote"}"""));
        using var unknownChain = await http.PostAsync("/v1/responses/compact", JsonHttp.Body("""{"model":"remote","previous_response_id":"resp_missing"}"""));
        using var emptyItem = await http.PostAsync("/v1/responses", JsonHttp.Body("""{"model":"remote","input":[{"type":"compaction","id":"cmp_1"}]}"""));

        await noModel.AssertOpenAIError(HttpStatusCode.BadRequest, "model");
        await noInput.AssertOpenAIError(HttpStatusCode.BadRequest, "input");
        await unknownChain.AssertOpenAIError(HttpStatusCode.NotFound, "previous_response_id");
        await emptyItem.AssertOpenAIError(HttpStatusCode.BadRequest, "input[0].encrypted_content");
        Assert.Empty(await Upstream.ReceivedRequests());
    }

    private static async Task<int> Count(HttpClient http, string request) =>
        (await http.PostJson("/v1/responses/input_tokens", request)).GetProperty("input_tokens").GetInt32();
}
