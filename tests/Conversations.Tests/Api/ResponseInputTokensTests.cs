using System.Net;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>POST /v1/responses/input_tokens</c> counts what the response would send: the same request, made, is reported by the
/// simulated upstream (over HTTP, with the real tokenizer) with exactly that many prompt tokens.
/// </summary>
public sealed class ResponseInputTokensTests : UpstreamGatewayTest
{
    [Fact]
    public async Task A_stateless_request_counts_what_the_upstream_reports()
    {
        using var http = Gateway.Http();
        const string request = """{"model":"remote","instructions":"Answer in one line.","input":[{"role":"user","content":"What is the capital of Portugal?"}]}""";

        var counted = await Count(http, request);
        var reported = await UpstreamInputTokens(http, request);

        Assert.Equal(reported, counted);
    }

    [Fact]
    public async Task A_conversation_turn_counts_its_context_under_its_policy_and_a_chain_counts_its_history()
    {
        using var http = Gateway.Http();
        var conversation = (await http.PostJson("/v1/conversations", "{}")).GetProperty("id").GetString();
        await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{conversation}}","input":"My name is Ada."}""");
        await http.PostJson("/v1/responses", $$"""{"model":"remote","conversation":"{{conversation}}","input":"I live in Lisbon."}""");
        var turn = $$$"""{"model":"remote","conversation":"{{{conversation}}}","input":"Where do I live?","context_policy":{"window_turns":1}}""";
        var wholeTurn = $$"""{"model":"remote","conversation":"{{conversation}}","input":"Where do I live?"}""";
        var first = (await http.PostJson("/v1/responses", """{"model":"remote","input":"My name is Ada."}""")).GetProperty("id").GetString();
        var chained = $$"""{"model":"remote","previous_response_id":"{{first}}","input":"What is my name?"}""";

        var windowed = await Count(http, turn);
        var whole = await Count(http, wholeTurn);
        var chain = await Count(http, chained);
        var itemsBefore = (await http.GetJson($"/v1/conversations/{conversation}/items")).GetProperty("data").GetArrayLength();

        Assert.True(windowed < whole, $"a window of one turn ({windowed}) sends less than the whole conversation ({whole})");
        Assert.Equal(4, itemsBefore); // counting appended nothing
        Assert.Equal(await UpstreamInputTokens(http, turn), windowed);
        Assert.Equal(await UpstreamInputTokens(http, chained), chain);
    }

    [Fact]
    public async Task Bad_requests_are_refused_as_a_response_would_be()
    {
        using var http = Gateway.Http();

        using var noModel = await http.PostAsync("/v1/responses/input_tokens", JsonHttp.Body("""{"input":"hi"}"""));
        using var unknownModel = await http.PostAsync("/v1/responses/input_tokens", JsonHttp.Body("""{"model":"no-such-model","input":"hi"}"""));
        using var unknownConversation = await http.PostAsync("/v1/responses/input_tokens", JsonHttp.Body("""{"model":"remote","conversation":"conv_missing","input":"hi"}"""));

        await noModel.AssertOpenAIError(HttpStatusCode.BadRequest, "model");
        await unknownModel.AssertOpenAIError(HttpStatusCode.NotFound);
        await unknownConversation.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.Empty(await Upstream.ReceivedRequests());
    }

    private static async Task<int> Count(HttpClient http, string request)
    {
        var counted = await http.PostJson("/v1/responses/input_tokens", request);
        Assert.Equal("response.input_tokens", counted.GetProperty("object").GetString());
        return counted.GetProperty("input_tokens").GetInt32();
    }

    /// <summary>Makes the request as a response and returns the input tokens the upstream reported for it.</summary>
    private static async Task<int> UpstreamInputTokens(HttpClient http, string request) =>
        (await http.PostJson("/v1/responses", request)).GetProperty("usage").GetProperty("input_tokens").GetInt32();
}
